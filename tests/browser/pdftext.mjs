// The text of each page of a PDF that Chromium printed, to check what a printed page shows
// (table headers repeated on every page). Enough of PDF for Chromium's own output: objects,
// Flate streams, each page's /Contents and /Font resources, and the fonts' /ToUnicode CMaps
// (bfchar and bfrange), with text shown as 2-byte glyph codes (Identity-H) in hex strings.
import { inflateSync } from "node:zlib";

export function pdfPageTexts(buf) {
  const s = buf.toString("latin1");
  const objs = new Map();
  const re = /(\d+) 0 obj\b/g;
  let m;
  const starts = [];
  while ((m = re.exec(s))) starts.push([Number(m[1]), m.index + m[0].length]);
  for (const [num, start] of starts) {
    const end = s.indexOf("endobj", start);
    const body = s.slice(start, end);
    const si = body.indexOf("stream");
    let dict = body, data = null;
    if (si >= 0 && body.slice(0, si).includes("<<")) {
      dict = body.slice(0, si);
      let ds = start + si + 6;
      if (s[ds] === "\r") ds++;
      if (s[ds] === "\n") ds++;
      const de = s.indexOf("endstream", ds);
      let raw = buf.subarray(ds, de);
      if (/\/FlateDecode/.test(dict)) {
        try { raw = inflateSync(raw); } catch { raw = Buffer.alloc(0); }
      }
      data = raw.toString("latin1");
    }
    objs.set(num, { dict, data });
  }
  const ref = (text, key) => { const r = new RegExp(`/${key}\\s+(\\d+) 0 R`).exec(text); return r ? Number(r[1]) : null; };
  const cmaps = new Map();
  const cmapOf = (fontNum) => {
    if (cmaps.has(fontNum)) return cmaps.get(fontNum);
    const map = new Map();
    const font = objs.get(fontNum);
    const tu = font && ref(font.dict, "ToUnicode");
    const cm = tu && objs.get(tu)?.data;
    if (cm) {
      for (const block of cm.matchAll(/beginbfchar([\s\S]*?)endbfchar/g))
        for (const p of block[1].matchAll(/<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>/g))
          map.set(parseInt(p[1], 16), hexToText(p[2]));
      for (const block of cm.matchAll(/beginbfrange([\s\S]*?)endbfrange/g))
        for (const p of block[1].matchAll(/<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>/g)) {
          const a = parseInt(p[1], 16), b = parseInt(p[2], 16), c = parseInt(p[3], 16);
          for (let k = a; k <= b; k++) map.set(k, String.fromCodePoint(c + k - a));
        }
    }
    cmaps.set(fontNum, map);
    return map;
  };
  const pages = [...objs.entries()].filter(([, o]) => /\/Type\s*\/Page[^s]/.test(o.dict));
  return pages.map(([, page]) => {
    let resources = page.dict;
    const rnum = ref(page.dict, "Resources");
    if (rnum !== null) resources = objs.get(rnum).dict;
    let fontDict = resources;
    const fnum = ref(resources, "Font");
    if (fnum !== null) fontDict = objs.get(fnum).dict;
    const fonts = new Map([...fontDict.matchAll(/\/(F\w*)\s+(\d+) 0 R/g)].map((x) => [x[1], Number(x[2])]));
    const contents = [];
    const c1 = /\/Contents\s+(\d+) 0 R/.exec(page.dict);
    if (c1) contents.push(Number(c1[1]));
    const ca = /\/Contents\s*\[([^\]]*)\]/.exec(page.dict);
    if (ca) for (const x of ca[1].matchAll(/(\d+) 0 R/g)) contents.push(Number(x[1]));
    let text = "", cmap = new Map();
    for (const c of contents) {
      const data = objs.get(c)?.data || "";
      for (const tok of data.matchAll(/\/(F\w*)\s+[\d.]+\s+Tf|<([0-9A-Fa-f]*)>/g)) {
        if (tok[1]) { cmap = cmapOf(fonts.get(tok[1])); continue; }
        const hex = tok[2];
        for (let i = 0; i + 4 <= hex.length; i += 4) text += cmap.get(parseInt(hex.slice(i, i + 4), 16)) ?? "";
        text += " ";
      }
    }
    return text;
  });
}

function hexToText(hex) {
  let out = "";
  for (let i = 0; i + 4 <= hex.length; i += 4) out += String.fromCharCode(parseInt(hex.slice(i, i + 4), 16));
  return out;
}
