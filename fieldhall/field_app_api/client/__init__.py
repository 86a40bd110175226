"""The reference device client (``fieldhall device …``): what a field app does."""

from .device import DeviceClient, DeviceState, Material

__all__ = ["DeviceClient", "DeviceState", "Material"]
