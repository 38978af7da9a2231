/**
 * The trace viewer in a real browser: Debian's Chromium, headless, driven by playwright-core
 * (which downloads nothing: it is pointed at /usr/bin/chromium). The demo's parents are listed,
 * a scale shows up live as a new record with the replica diff, and an error record shows its
 * message. Outside CI the test is skipped, saying so, when no Chromium is installed; in CI it
 * must run (.ci/run installs it).
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { after, before, test } from "node:test";
import myapp, { MyApp } from "../../examples/myapp/myapp.ts";
import { KubeClient } from "../client/client.ts";
import { eventually, runOperator } from "../testkit/operator-harness.ts";
import { testControlPlane } from "../testkit/shared.ts";
import { installCustomResources } from "./install.ts";

const chromiumPath = "/usr/bin/chromium";
const chromiumFlags = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];
const haveChromium = existsSync(chromiumPath);
if (!haveChromium && process.env.CI) {
  throw new Error(`${chromiumPath} is missing: CI must install Debian's chromium (see .ci/run)`);
}
const skip = haveChromium
  ? false
  : `no browser: ${chromiumPath} is not installed (apt-get install chromium) — the trace viewer is not tested`;

/** The README demo's apps. */
const apps = [
  { name: "shop", replicas: 3, image: "nginx:1.27" },
  { name: "blog", replicas: 2, image: "ghost:5" },
  { name: "api", replicas: 4, image: "node:24-alpine" },
];

let client: KubeClient;
before(async () => {
  if (skip) return;
  const plane = await testControlPlane();
  client = await KubeClient.fromKubeConfig({
    kubeconfig: plane.kubeconfigPath,
    fieldManager: "test",
  });
  await installCustomResources(client, [MyApp]);
});
after(() => client?.close());

test("the viewer lists the demo's parents, shows a scale live with its diff, and an error's message", {
  skip,
}, async () => {
  const { chromium } = await import("playwright-core");
  const plane = await testControlPlane();
  const namespace = await plane.createNamespace("viewer");
  const harness = await runOperator(myapp, {
    plane,
    namespace,
    trace: { bindAddress: "127.0.0.1:0" },
  });
  const browser = await chromium.launch({
    executablePath: chromiumPath,
    headless: true,
    args: chromiumFlags,
  });
  const trace = harness.manager.trace!;
  try {
    for (const app of apps) {
      await client.create(MyApp, {
        metadata: { name: app.name, namespace },
        spec: { replicas: app.replicas, image: app.image, port: 8080 },
      });
    }
    await eventually(() =>
      apps.every((app) => trace.records({ key: `${namespace}/${app.name}` }).length > 0),
    );
    const page = await browser.newPage();
    const problems: string[] = [];
    page.on("pageerror", (error) => problems.push(error.message));
    page.on("console", (message) => {
      if (message.type() === "error") problems.push(message.text());
    });
    await page.goto(`${harness.manager.traceUrl}/`);

    // The parents, each a button named by its key.
    const parents = page.getByRole("navigation", { name: "Parents" });
    for (const app of apps) {
      await parents
        .getByRole("button", { name: new RegExp(`${namespace}/${app.name}\\b`) })
        .waitFor();
    }
    await page.getByText("live", { exact: true }).waitFor();

    // Choose shop by keyboard, then scale it: the new record appears without a reload.
    const shop = parents.getByRole("button", { name: new RegExp(`${namespace}/shop\\b`) });
    await shop.focus();
    await page.keyboard.press("Enter");
    await page.getByRole("heading", { name: `Reconciles of MyApp ${namespace}/shop` }).waitFor();
    const since = trace.records().at(-1)!.seq;
    const scaled = await client.patch(MyApp, "shop", { spec: { replicas: 5 } }, { namespace });
    const record = await eventually(
      () =>
        trace
          .records({ key: `${namespace}/shop`, since })
          .find((r) =>
            r.triggers.some((t) => t.object?.resourceVersion === scaled.metadata.resourceVersion),
          ),
      { message: "the scale's record" },
    );
    const entry = page.locator(`#timeline button[data-record="${record.reconcileId}"]`);
    await entry.waitFor({ timeout: 30_000 });
    await entry.click();
    const deployment = page.locator(`#record .child[data-child="Deployment ${namespace}/shop"]`);
    await deployment.getByText("updated", { exact: true }).waitFor();
    const replicas = deployment.locator("tr", { hasText: "spec.replicas" });
    assert.deepEqual(
      (await replicas.locator("td").allInnerTexts()).map((text) => text.trim()),
      ["spec.replicas", "~ changed", "3", "5"],
    );
    const why = page.getByRole("region", { name: "Why it ran" });
    await why.getByText(scaled.metadata.resourceVersion!, { exact: true }).first().waitFor();

    // An app whose Service the API server rejects (its name is too long for a Service).
    const name = `broken-${"x".repeat(60)}`;
    await client.create(MyApp, {
      metadata: { name, namespace },
      spec: { replicas: 1, image: "nginx:1.27", port: 8080 },
    });
    const broken = parents.getByRole("button", { name: new RegExp(`${name}`) });
    await broken.waitFor({ timeout: 30_000 });
    await broken.click();
    const failed = page.locator('#timeline button[data-outcome="error"]').first();
    await failed.waitFor({ timeout: 30_000 });
    await failed.click();
    const error = page.locator("#record [data-error]");
    await error.waitFor();
    const message = trace.records({ key: `${namespace}/${name}`, errors: true })[0]!.error!.message;
    assert.equal((await error.innerText()).trim(), `Error: ${message}`);

    // The errors filter keeps the failing parent and hides the healthy ones.
    await page.getByLabel("Errors only").check();
    await parents
      .getByRole("button", { name: new RegExp(`${namespace}/shop\\b`) })
      .waitFor({ state: "detached" });
    await broken.waitFor();

    if (process.env.OPERON_VIEWER_SCREENSHOT) {
      await page.getByLabel("Errors only").uncheck();
      await page.setViewportSize({ width: 1400, height: 900 });
      await shop.click();
      await page.locator(`#timeline button[data-record="${record.reconcileId}"]`).click();
      await page.screenshot({ path: process.env.OPERON_VIEWER_SCREENSHOT, fullPage: true });
    }
    assert.deepEqual(problems, [], "no script errors in the page");
  } finally {
    await browser.close();
    await harness.stop();
  }
});
