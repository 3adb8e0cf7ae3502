#!/usr/bin/env bash
# Opens a report.html in headless Chromium, as a person would, and checks that the page
# loads without console messages or network requests, that the verdict banner and
# every chart are visible, and keeps a full-page screenshot.
#
#   reports/tests/browser/check.sh out/ci/smoke/report.html [OUT_DIR]
#
# OUT_DIR (default target/report-check) receives report.png, the measured page
# (result.json) and Chromium's log. Installs Debian's chromium if it is missing.
# Exit 0 when every check passed, 1 otherwise.
set -euo pipefail

report=${1:?usage: check.sh REPORT_HTML [OUT_DIR]}
out=${2:-target/report-check}
[ -f "$report" ] || { echo "check.sh: no such report: $report" >&2; exit 2; }
mkdir -p "$out"
report=$(realpath "$report")
out=$(realpath "$out")

if ! command -v chromium >/dev/null 2>&1; then
  echo "check.sh: installing chromium from Debian's packages"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null
fi

profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT
flags=(--headless --no-sandbox --disable-gpu --disable-quic --no-first-run
  --disable-background-networking --disable-component-update --disable-sync
  --user-data-dir="$profile" --hide-scrollbars)

report_url=$(python3 -c 'import pathlib,sys; print(pathlib.Path(sys.argv[1]).as_uri())' "$report")

# The report has no script of its own; this page frames it and measures it.
cat > "$out/check.html" <<HTML
<!DOCTYPE html><html><body><pre id="result">pending</pre>
<iframe id="report" src="$report_url" style="width:1280px;height:900px"></iframe>
<script>
document.getElementById('report').addEventListener('load', () => {
  const out = {};
  try {
    const w = document.getElementById('report').contentWindow, d = w.document;
    const visible = (el) => {
      if (!el) return null;
      const r = el.getBoundingClientRect(), cs = w.getComputedStyle(el);
      return {width: r.width, height: r.height, display: cs.display, visibility: cs.visibility, opacity: cs.opacity};
    };
    out.title = d.title;
    out.banner = visible(d.querySelector('header.banner'));
    out.figures = [...d.querySelectorAll('figure.chart')].map(f => ({
      id: f.id, box: visible(f.querySelector('svg')),
      texts: f.querySelectorAll('svg text').length,
      lines: f.querySelectorAll('svg polyline, svg path, svg circle').length,
    }));
    out.resources = w.performance.getEntriesByType('resource').map(e => e.name);
    out.scripts = d.querySelectorAll('script').length;
    out.external = [...d.querySelectorAll('[src], [href], object, embed, iframe')]
      .map(e => e.getAttribute('src') || e.getAttribute('href') || e.tagName)
      .filter(a => !a.startsWith('#'));
    out.height = d.documentElement.scrollHeight;
  } catch (e) { out.error = String(e); }
  document.getElementById('result').textContent = JSON.stringify(out);
});
</script></body></html>
HTML

timeout 120 chromium "${flags[@]}" --allow-file-access-from-files --enable-logging=stderr --v=0 \
  --virtual-time-budget=10000 --dump-dom "file://$out/check.html" > "$out/dom.html" 2> "$out/chromium.log" || true
grep -o '<pre id="result">[^<]*' "$out/dom.html" | sed 's/<pre id="result">//' \
  | python3 -c 'import html,sys; sys.stdout.write(html.unescape(sys.stdin.read()))' > "$out/result.json" || true

expected=$(grep -o '<figure id="chart-' "$report" | wc -l)
height=$(python3 -c 'import json,sys; print(max(900, min(20000, int(json.load(open(sys.argv[1])).get("height", 900)))))' "$out/result.json" 2>/dev/null || echo 6000)
timeout 120 chromium "${flags[@]}" --window-size=1280,"$height" --screenshot="$out/report.png" "$report_url" \
  >> "$out/chromium.log" 2>&1 || true

python3 - "$out" "$expected" <<'PY'
import json, pathlib, sys
out, expected = pathlib.Path(sys.argv[1]), int(sys.argv[2])
passed, failed = [], []
def check(name, ok, detail=""):
    (passed if ok else failed).append(name)
    print(("  ok    " if ok else "  FAIL  ") + name + (f": {detail}" if detail and not ok else ""))
try:
    r = json.loads((out / "result.json").read_text())
except Exception as e:
    r = {"error": f"the page did not report back: {e}"}
check("page loaded and measured", "error" not in r and "title" in r, r.get("error", ""))
check("title names the report", "gauntlet report" in r.get("title", ""), r.get("title"))
b = r.get("banner") or {}
check("verdict banner visible", b.get("height", 0) > 20 and b.get("visibility") == "visible", b)
figs = r.get("figures", [])
check(f"all {expected} charts present", expected > 0 and len(figs) == expected, f"{len(figs)} found")
for f in figs:
    box = f.get("box") or {}
    ok = (box.get("width", 0) > 300 and box.get("height", 0) > 100 and box.get("display") != "none"
          and box.get("visibility") == "visible" and float(box.get("opacity", 0)) > 0
          and f.get("texts", 0) > 5 and f.get("lines", 0) > 0)
    check(f"chart {f.get('id')} visible with text and lines", ok, f)
check("no network or file requests", r.get("resources") == [], r.get("resources"))
check("nothing to load: only in-page links", r.get("external") == [], r.get("external"))
check("no script in the report", r.get("scripts") == 0, r.get("scripts"))
console = [l for l in (out / "chromium.log").read_text(errors="replace").splitlines() if ":CONSOLE" in l]
check("no console messages", not console, console[:3])
png = out / "report.png"
check("screenshot taken", png.is_file() and png.stat().st_size > 10_000, png)
print(f"report check: {len(passed)} passed, {len(failed)} failed (screenshot: {png})")
sys.exit(1 if failed else 0)
PY
