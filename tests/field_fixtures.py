"""A running hall server with enrolled devices, and realistic signed cases, for the field tests."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
from litestar import Litestar
from PIL import Image

from fieldhall.field_app_api.client import DeviceClient, Material
from fieldhall.server.app import create_app
from fieldhall.server.serving import serve_in_thread, uvicorn_config
from fieldhall.server.settings import Settings
from tests.servers import free_port

FIELDHALL = str(Path(sys.executable).parent / "fieldhall")
ADMIN = ("alice", "alice-admin-password")
CATALOG_VERSION = "2026.1"


def jpeg(seed: int, size: tuple[int, int] = (64, 48)) -> bytes:
    """A small real JPEG whose pixels depend on ``seed``."""
    image = Image.new("RGB", size, ((seed * 37) % 256, (seed * 91) % 256, (seed * 53) % 256))
    for x in range(0, size[0], 8):
        image.putpixel((x, (seed + x) % size[1]), (255, 255, 255))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=80)
    return out.getvalue()


def png(seed: int) -> bytes:
    image = Image.new("L", (80, 30), 255)
    for x in range(5, 75):
        image.putpixel((x, 15 + (x * seed) % 7), 0)
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


@dataclass
class Hall:
    url: str
    data_dir: Path
    app: Litestar | None = None  # the running server's app, for a look at its parts

    def cli(self, *args: str, stdin: str | None = None) -> dict[str, object]:
        """Run an administrative ``fieldhall`` command with --json on this hall's data."""
        result = subprocess.run(
            [FIELDHALL, *args, "--json", "--data-dir", str(self.data_dir)],
            input=stdin,
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        )
        parsed: dict[str, object] = json.loads(result.stdout)
        return parsed

    def admin(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, auth=ADMIN, timeout=60.0)

    def new_agent(
        self, name: str, grid: str | None = None, station: str | None = None
    ) -> dict[str, object]:
        with self.admin() as client:
            body = {"name": name, "grid_id": grid, "station_id": station}
            response = client.post("/api/v1/admin/agents", json=body)
            response.raise_for_status()
            agent: dict[str, object] = response.json()
            return agent

    def enroll(
        self,
        name: str,
        grid: str | None = "grid-a",
        station: str | None = None,
        tmp: Path | None = None,
    ) -> DeviceClient:
        agent = self.new_agent(name, grid, station)
        state = tmp / f"{agent['agent_id']}.json" if tmp else None
        return DeviceClient.enroll(
            self.url, str(agent["enrollment_code"]), name=name, state_path=state
        )


@contextmanager
def running_hall(data_dir: Path, database_url: str | None = None) -> Iterator[Hall]:
    data_dir.mkdir(parents=True, exist_ok=True)
    settings = Settings.from_env(data_dir=data_dir, database_url=database_url, port=free_port())
    subprocess.run(
        [
            FIELDHALL,
            "staff",
            "add",
            "--username",
            ADMIN[0],
            "--role",
            "admin",
            "--password-stdin",
            "--data-dir",
            str(data_dir),
            *(["--database-url", database_url] if database_url else []),
        ],
        input=ADMIN[1] + "\n",
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    url = f"http://127.0.0.1:{settings.port}"
    app = create_app(settings, public_url=url)
    with serve_in_thread(uvicorn_config(app, "127.0.0.1", settings.port)):
        yield Hall(url, data_dir, app)


def senior_card_case(
    device: DeviceClient, seed: int = 1
) -> tuple[dict[str, object], list[Material]]:
    """A signed 老年人优待证 case with an ID card photo, a portrait and the consent signature."""
    return device.case(
        "senior_citizen_card",
        CATALOG_VERSION,
        applicant={
            "name": "张桂兰",
            "id_number": "610902194501010023",
            "phone": "13800000000",
            "address": "汉滨区新城街道南环社区3号楼",
        },
        form={
            "birth_date": "1945-01-01",
            "household_type": "本地户籍",
            "residence_address": "汉滨区新城街道南环社区3号楼2单元",
        },
        materials=[
            Material(f"id_front_{seed}.jpg", jpeg(seed), "image/jpeg", "id_card"),
            Material(f"portrait_{seed}.jpg", jpeg(seed + 1000), "image/jpeg", "photo"),
        ],
        consent=Material(f"consent_{seed}.png", png(seed), "image/png", "consent_signature"),
        location={"lat": 32.68, "lon": 109.03, "accuracy_m": 15},
    )
