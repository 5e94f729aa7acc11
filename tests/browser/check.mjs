// Checks meterlib's HTML documents in headless Chromium and prints one JSON report.
//
//   node check.mjs CHROMIUM OUT_DIR PAGE.html[=shot-name] ...
//
// For each page: axe-core with the WCAG 2.0/2.1 A and AA rules (contrast included), on screen
// at 1280 px and under print media; the widths of every table against its box at 390 px (a
// phone) and at the A4 text width under print media; whether table headers repeat on printed
// pages (thead display, boxes that neither clip nor scroll in print); which way the columns
// run (right to left for Arabic); a PDF print (A4), its page count and the text of each page
// (pdftext.mjs); screenshots when a name is given.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { pathToFileURL } from "node:url";
import { chromium } from "playwright-core";
import { pdfPageTexts } from "./pdftext.mjs";

const require = createRequire(import.meta.url);
const axeSource = readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");
const [executablePath, outDir, ...pages] = process.argv.slice(2);

// A4 is 210 mm wide; the documents' @page margins are 14 mm a side: 182 mm of text = 688 CSS px.
const A4_TEXT = 688;

async function axe(page) {
  await page.addScriptTag({ content: axeSource });
  return page.evaluate(async () => {
    const result = await window.axe.run(document, {
      runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"] },
      resultTypes: ["violations"],
    });
    return result.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      nodes: v.nodes.slice(0, 5).map((n) => ({ target: n.target.join(" "), summary: n.failureSummary })),
    }));
  });
}

async function widths(page) {
  return page.evaluate(() => {
    const root = document.querySelector(".ml-root") || document.body;
    const view = document.documentElement.clientWidth;
    const tables = [...document.querySelectorAll("table")].map((table) => {
      const box = table.closest(".scroll") || table.parentElement;
      const style = getComputedStyle(box);
      const rect = box.getBoundingClientRect();
      return {
        table: table.className || table.querySelector("th,td")?.textContent?.slice(0, 20) || "",
        width: Math.ceil(table.getBoundingClientRect().width),
        box: Math.ceil(rect.width),
        boxRight: Math.ceil(rect.right),
        scrolls: ["auto", "scroll"].includes(style.overflowX),
      };
    });
    return {
      view,
      page: document.documentElement.scrollWidth,
      root: Math.ceil(root.getBoundingClientRect().width),
      tables,
      theadDisplay: [...document.querySelectorAll("thead")].map((t) => getComputedStyle(t).display),
      theadTexts: [...document.querySelectorAll("thead")].map((t) => t.textContent.replace(/\s+/g, "")),
      dir: root.getAttribute("dir") || document.documentElement.getAttribute("dir"),
      direction: getComputedStyle(root).direction,
      // Which way the columns of each table with a header run on the screen: "rtl" when its
      // first header cell is drawn to the right of its last one.
      columns: [...document.querySelectorAll("thead tr")].filter((tr) => tr.cells.length > 1).map((tr) => {
        const first = tr.cells[0].getBoundingClientRect();
        const last = tr.cells[tr.cells.length - 1].getBoundingClientRect();
        return first.left > last.left ? "rtl" : "ltr";
      }),
      // Under print media a table's box must not clip or scroll: headers repeat on every page
      // only for a table in the normal flow of the page.
      boxOverflow: [...document.querySelectorAll("table")].map((t) => getComputedStyle(t.closest(".scroll") || t.parentElement).overflowX),
    };
  });
}

const browser = await chromium.launch({
  executablePath,
  headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-dev-shm-usage"],
});
const report = [];
try {
  for (const spec of pages) {
    const [file, shot] = spec.split("=");
    const url = pathToFileURL(file).href;
    const entry = { file, shot: shot || null };
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    await page.goto(url);
    entry.axeScreen = await axe(page);
    entry.desktop = await widths(page);
    if (shot) await page.screenshot({ path: `${outDir}/${shot}.png`, fullPage: true });
    await page.setViewportSize({ width: 390, height: 844 });
    entry.phone = await widths(page);
    if (shot) await page.screenshot({ path: `${outDir}/${shot}-phone.png`, fullPage: false });
    await page.emulateMedia({ media: "print" });
    await page.setViewportSize({ width: A4_TEXT, height: 1000 });
    entry.print = await widths(page);
    await page.reload();
    entry.axePrint = await axe(page);
    const pdf = await page.pdf({ format: "A4", preferCSSPageSize: true });
    entry.pdfPages = (pdf.toString("latin1").match(/\/Type\s*\/Page[^s]/g) || []).length;
    // each printed page's text, white space removed (glyph runs carry no spaces)
    entry.pdfTexts = pdfPageTexts(pdf).map((text) => text.replace(/\s+/g, ""));
    await page.close();
    report.push(entry);
  }
} finally {
  await browser.close();
}
process.stdout.write(JSON.stringify(report, null, 1));
