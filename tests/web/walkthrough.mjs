// The hall UI in a real browser (Debian's Chromium through playwright-core), one phase of
// the walkthrough per run: `node walkthrough.mjs <phase>`. The Python test (test_browser.py)
// runs the phases in order and plays the device between them. Every page is watched: a
// console error, an uncaught exception, a request to another host or an unexpected HTTP error
// fails the phase. Prints one JSON line: {"ok": true, "phase", "facts"} or {"ok": false, "error"}.
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";

const HALL = process.env.HALL_URL;
const CASE_ID = process.env.CASE_ID;
const STATION_EVENT_ID = process.env.STATION_EVENT_ID || "";
const OUT = process.env.ARTIFACTS;
const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";
const FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];
const WATCHDOG_MS = 120_000;
const origin = new URL(HALL).origin;
const problems = [];
const opened = [];

function fail(message) {
  throw new Error(message);
}

function check(condition, message) {
  if (!condition) fail(message);
}

// A browser of its own for each person: a fresh profile (user data dir), nothing shared.
async function browserFor(who) {
  const profile = mkdtempSync(join(tmpdir(), `hall-${who}-`));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: FLAGS,
    locale: "zh-CN",
    viewport: { width: 1366, height: 900 },
  });
  const person = { who, context, expected: new Set() };
  const watch = (page) => {
    page.on("console", (msg) => {
      if (msg.type() !== "error") return;
      const status = /status of (\d+)/.exec(msg.text());
      if (status && person.expected.has(Number(status[1]))) return;
      problems.push(`${who}: console error on ${page.url()}: ${msg.text()}`);
    });
    page.on("pageerror", (error) => problems.push(`${who}: uncaught ${error} on ${page.url()}`));
    page.on("request", (request) => {
      const url = new URL(request.url());
      if (url.protocol === "data:" || url.protocol === "about:") return;
      if (url.origin !== origin) problems.push(`${who}: request to another host: ${request.url()}`);
    });
    page.on("response", (response) => {
      const status = response.status();
      if (status >= 400 && !person.expected.has(status)) {
        problems.push(`${who}: HTTP ${status} for ${response.url()}`);
      }
    });
  };
  context.pages().forEach(watch);
  context.on("page", watch);
  person.page = context.pages()[0] || (await context.newPage());
  opened.push({ context, profile });
  return person;
}

let shot = 0;
async function screenshot(page, name) {
  shot += 1;
  const phase = process.argv[2];
  await page.screenshot({ path: join(OUT, `${phase}-${String(shot).padStart(2, "0")}-${name}.png`), fullPage: true });
}

async function logIn(person) {
  const { page, who } = person;
  await page.goto(`${HALL}/hall/login`);
  check((await page.locator("html").getAttribute("lang")) === "zh-CN", "the UI is Chinese by default");
  await page.fill("input[name=username]", who);
  await page.fill("input[name=password]", `${who}-password`);
  await Promise.all([page.waitForNavigation(), page.press("input[name=password]", "Enter")]);
  check(!page.url().includes("/hall/login"), `${who} could not log in: ${page.url()}`);
}

const caseUrl = () => `${HALL}/hall/cases/${CASE_ID}`;

async function openCase(person) {
  await person.page.goto(caseUrl());
  check(person.page.url().startsWith(caseUrl()), `case page not open: ${person.page.url()}`);
}

async function stateText(page) {
  return (await page.locator("p.meta .state").first().textContent()).trim();
}

// Send an action's form with its button and wait for the page that says it was done.
async function act(page, action) {
  const button = page.locator(`#action-${action} button[type=submit]`);
  check((await button.count()) === 1, `no ${action} form on ${page.url()}`);
  await Promise.all([page.waitForURL(`**done=${action}**`), button.click()]);
  check((await page.locator("p.notice").count()) === 1, `${action}: no confirmation shown`);
}

// Keyboard only: Tab until the action's button has the focus, then Enter.
async function actByKeyboard(page, action) {
  await page.evaluate(() => document.activeElement && document.activeElement.blur());
  for (let presses = 0; presses < 400; presses += 1) {
    await page.keyboard.press("Tab");
    const where = await page.evaluate(() => {
      const el = document.activeElement;
      const section = el && el.closest("section.action");
      return el && el.tagName === "BUTTON" && section ? section.id : "";
    });
    if (where === `action-${action}`) {
      await Promise.all([page.waitForURL(`**done=${action}**`), page.keyboard.press("Enter")]);
      return presses + 1;
    }
  }
  fail(`the ${action} button cannot be reached with Tab`);
}

async function supervisionFacts(page) {
  await page.goto(`${HALL}/hall/supervision`);
  check((await page.locator("h1").textContent()).includes("电子监察"), "not the supervision page");
  const metric = async (title) =>
    (await page.locator(`.big[data-metric="${title}"]`).textContent()).trim();
  return {
    meta: (await page.locator("p.meta").textContent()).trim(),
    on_time_promised: await metric("承诺时限内"),
    satisfaction: await metric("满意（3–5 星）"),
    zero_trips: await metric("零跑动案件"),
    trips_average: (await page.locator("#trips-average").textContent()).trim(),
    svg_charts: await page.locator("svg.chart").count(),
  };
}

const phases = {
  // The supervisor's numbers before anything happens.
  async before() {
    const sam = await browserFor("sam");
    await logIn(sam);
    check(sam.page.url().endsWith("/hall/supervision"), "a supervisor starts on supervision");
    const facts = await supervisionFacts(sam.page);
    await screenshot(sam.page, "supervision-before");
    return facts;
  },

  // The clerk finds the case with the keyboard, looks at its photo, issues the notice.
  async notice() {
    const carol = await browserFor("carol");
    const { page, context } = carol;
    await logIn(carol);
    check(page.url().endsWith("/hall/cases"), "a clerk starts in the inbox");
    await screenshot(page, "inbox");
    const selected = () =>
      page.evaluate(() => {
        const rows = Array.from(document.querySelectorAll("table.cases tr.row"));
        return rows.findIndex((row) => row.contains(document.activeElement));
      });
    const moves = [];
    for (const key of ["j", "j", "k", "ArrowDown", "ArrowUp"]) {
      await page.keyboard.press(key);
      moves.push(await selected());
    }
    check(moves.join() === "0,1,0,1,0", `j/k and the arrows move through the list: ${moves}`);
    await page.evaluate(() => document.activeElement.blur());
    await page.keyboard.press("/");
    check(await page.evaluate(() => document.activeElement.id === "search"), "/ focuses search");
    await page.keyboard.type("李德福");
    await Promise.all([page.waitForNavigation(), page.keyboard.press("Enter")]);
    check(page.url().includes("q="), "the search was not sent");
    await screenshot(page, "inbox-search");
    await page.keyboard.press("j");
    check(
      await page.evaluate(() => document.activeElement.classList.contains("open")),
      "j selects the first case",
    );
    await Promise.all([page.waitForNavigation(), page.keyboard.press("Enter")]);
    check(page.url().startsWith(caseUrl()), `Enter did not open the case: ${page.url()}`);
    check((await stateText(page)) === "已接收", "the case is received");
    const checks = await page.locator(".checks .check.ok").count();
    check(checks === 4, `signature, chain, attachments, receipt verified (got ${checks})`);
    await screenshot(page, "case");

    const [photo] = await Promise.all([
      context.waitForEvent("page"),
      page.locator("ul.thumbs a.photo").first().click(),
    ]);
    await photo.waitForLoadState();
    const size = await photo.evaluate(() => {
      const img = document.querySelector("img");
      return img ? [img.naturalWidth, img.naturalHeight] : [0, 0];
    });
    check(size[0] > 0 && size[1] > 0, `the photo did not display: ${size}`);
    await screenshot(photo, "photo");
    await photo.close();

    const ticked = await page.locator("#action-issue_notice input[name=material]:checked").count();
    check(ticked === 2, `the notice lists every missing material (got ${ticked})`);
    await act(page, "issue_notice");
    check((await stateText(page)) === "已一次性告知", "the case waits for the supplement");
    await screenshot(page, "notice-issued");

    carol.expected.add(403);
    const forbidden = await page.goto(`${HALL}/hall/supervision`);
    check(forbidden.status() === 403, `a clerk on supervision: ${forbidden.status()}`);
    check((await page.locator("h1").textContent()).includes("403"), "the 403 page says so");
    await screenshot(page, "forbidden");
    return { ticked, checks };
  },

  // After the device's supplement: pre-review and acceptance, keyboard only.
  async accept() {
    const carol = await browserFor("carol");
    const { page } = carol;
    await logIn(carol);
    await openCase(carol);
    check((await stateText(page)) === "已接收", "the supplement brought the case back");
    check((await page.locator(".timeline").textContent()).includes("终端补正材料"), "supplement");
    const tabs = await actByKeyboard(page, "pass_pre_review");
    check((await stateText(page)) === "预审通过", "pre-review passed");
    await actByKeyboard(page, "accept");
    check((await stateText(page)) === "已受理", "accepted");
    await page.keyboard.press("u");
    await page.waitForURL(`${HALL}/hall/cases`);
    await openCase(carol);
    await screenshot(page, "accepted");
    return { tabs_to_pre_review: tabs };
  },

  // Approval: the centre alone, then the centre and taxation at the same time, then the centre.
  async approve() {
    const [rhea, tao] = await Promise.all([browserFor("rhea"), browserFor("tao")]);
    await Promise.all([logIn(rhea), logIn(tao)]);
    await Promise.all([openCase(rhea), openCase(tao)]);
    check(
      (await tao.page.locator("#action-decide_step button[type=submit]").count()) === 0,
      "taxation has nothing to decide on the first step",
    );
    await act(rhea.page, "decide_step");
    await Promise.all([openCase(rhea), openCase(tao)]);
    await screenshot(tao.page, "taxation-turn");
    await Promise.all([act(rhea.page, "decide_step"), act(tao.page, "decide_step")]);
    await openCase(rhea);
    await act(rhea.page, "decide_step");
    check((await stateText(rhea.page)) === "已批准", "approved after the last step");
    await screenshot(rhea.page, "approved");
    const approvals = await rhea.page.locator(".steps .badge.ok").count();
    check(approvals === 4, `four department decisions (got ${approvals})`);
    return { approvals };
  },

  // The result: ready, handed over at the window with a rating, the case closed.
  async result() {
    const carol = await browserFor("carol");
    const { page } = carol;
    await logIn(carol);
    await openCase(carol);
    await act(page, "mark_result_ready");
    await page.selectOption("#action-record_delivery select[name=method]", "pickup");
    await page.fill("#action-record_delivery input[name=recipient_name]", "李德福");
    await page.fill("#action-record_delivery input[name=recipient_relation]", "本人");
    await page.selectOption("#action-record_delivery select[name=rating]", "5");
    await act(page, "record_delivery");
    check((await stateText(page)) === "已送达", "delivered");
    await act(page, "close");
    check((await stateText(page)) === "已办结归档", "closed");
    await screenshot(page, "closed");
    return { state: await stateText(page) };
  },

  // The dispatcher: a hotline call becomes a visit request, dispatched from the board.
  async dispatch() {
    const carol = await browserFor("carol");
    const { page } = carol;
    await logIn(carol);
    await Promise.all([page.waitForNavigation(), page.click('header nav a[href="/hall/visits"]')]);
    check((await page.locator("h1").textContent()).includes("上门服务"), "not the dispatch board");
    await Promise.all([page.waitForNavigation(), page.click("#new-visit")]);
    await page.fill("input[name=resident_name]", "刘秀英");
    await page.fill("input[name=resident_phone]", "13700000000");
    await page.fill("input[name=resident_address]", "汉滨区新城街道南环社区5号楼");
    await page.selectOption("select[name=source]", "hotline");
    await page.fill("input[name=ticket]", "12345-0815");
    await page.selectOption("select[name=matter_id]", "senior_citizen_card");
    await page.fill("textarea[name=note]", "老人行动不便，请上门办理老年人优待证");
    await screenshot(page, "visit-new");
    await Promise.all([page.waitForURL("**done=create**"), page.click("#action-create button[type=submit]")]);
    check((await page.locator("p.notice").count()) === 1, "create: no confirmation shown");
    const requestId = decodeURIComponent(new URL(page.url()).pathname.split("/").pop());
    check((await page.locator("p.meta .state").textContent()).trim() === "待派单", "a new request waits");
    await page.keyboard.press("u");
    await page.waitForURL(`${HALL}/hall/visits`);

    // Keyboard: j selects the request on the board, as in the inbox.
    await page.keyboard.press("j");
    const focused = await page.evaluate(() => document.activeElement.closest("tr.row")?.id);
    check(focused === requestId, `j selects the new request (${focused})`);
    const row = page.locator(`#group-pending tr.row[id="${requestId}"]`);
    check((await row.locator(".timer").first().textContent()).includes("剩余"), "the dispatch timer runs");
    await screenshot(page, "board-pending");
    const grids = await row.locator("select[name=target] option").evaluateAll((options) =>
      options.map((o) => o.value).filter((v) => v.startsWith("grid:")),
    );
    check(grids.length > 0, "no grid to dispatch to");
    await row.locator("select[name=target]").selectOption(grids[0]);
    await Promise.all([page.waitForURL("**done=dispatch**"), row.locator("button[type=submit]").click()]);
    const dispatched = page.locator(`#group-dispatched tr.row[id="${requestId}"]`);
    check((await dispatched.count()) === 1, "the request moved to the dispatched column");
    check((await page.locator(`#group-pending tr.row[id="${requestId}"]`).count()) === 0, "still pending");
    await screenshot(page, "board-dispatched");
    await Promise.all([page.waitForNavigation(), dispatched.locator("a.open").click()]);
    const timeline = (await page.locator(".timeline").textContent()).replace(/\s+/g, " ");
    check(timeline.includes("已派单"), "the timeline shows the dispatch");
    await screenshot(page, "visit-detail");
    return { request_id: requestId, grid: grids[0].slice(5) };
  },

  // The supervisor opens the mall station's event from the menu and reads its summary.
  async station() {
    const sam = await browserFor("sam");
    const { page } = sam;
    await logIn(sam);
    await Promise.all([page.waitForNavigation(), page.click('header nav a[href="/hall/stations"]')]);
    check((await page.locator("h1").textContent()).includes("流动服务站"), "not the stations page");
    const row = page.locator(`tr.row[id="${STATION_EVENT_ID}"]`);
    check((await row.count()) === 1, "the event is not listed");
    check((await row.textContent()).includes("进行中"), "the event is not running now");
    await screenshot(page, "stations");
    await Promise.all([page.waitForNavigation(), row.locator("a.open").click()]);
    check(page.url().endsWith(`/hall/station-events/${STATION_EVENT_ID}`), `event not open: ${page.url()}`);
    check((await page.locator("#published .badge.ok").count()) === 1, "the event is not published");
    const totals = (await page.locator("#summary-totals").textContent()).replace(/\s+/g, " ").trim();
    const byMatter = await page.locator("#by-matter tr.tally-row").evaluateAll((rows) =>
      Object.fromEntries(
        rows.map((r) => [r.dataset.id, Number(r.querySelector("td.num").textContent)]),
      ),
    );
    check((await page.locator("#summary-csv").getAttribute("href")).endsWith("/summary.csv"), "no CSV link");
    await screenshot(page, "station-event");
    await page.keyboard.press("u");
    await page.waitForURL(`${HALL}/hall/stations`);
    return { totals, by_matter: byMatter };
  },

  async after() {
    const sam = await browserFor("sam");
    await logIn(sam);
    const facts = await supervisionFacts(sam.page);
    await screenshot(sam.page, "supervision-after");
    await sam.page.goto(`${HALL}/hall/lang/en?next=/hall/supervision`);
    check((await sam.page.locator("h1").textContent()).trim() === "Supervision", "English");
    await screenshot(sam.page, "supervision-english");
    return facts;
  },
};

async function main() {
  const phase = process.argv[2];
  check(phase in phases, `unknown phase ${phase}`);
  mkdirSync(OUT, { recursive: true });
  const timer = setTimeout(() => {
    console.log(JSON.stringify({ ok: false, phase, error: "watchdog: the phase took too long" }));
    process.exit(2);
  }, WATCHDOG_MS);
  let result;
  try {
    const facts = await phases[phase]();
    result = problems.length ? { ok: false, phase, error: problems.join("\n") } : { ok: true, phase, facts };
  } catch (error) {
    result = { ok: false, phase, error: `${error.stack || error}\n${problems.join("\n")}` };
  } finally {
    for (const { context, profile } of opened) {
      await context.close().catch(() => {});
      rmSync(profile, { recursive: true, force: true });
    }
    clearTimeout(timer);
  }
  console.log(JSON.stringify(result));
  process.exit(result.ok ? 0 : 1);
}

main();
