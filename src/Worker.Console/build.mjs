// Copies the page and the chart library into the Worker's wwwroot/console (gitignored); no bundler: the page is plain
// ES modules, and uPlot ships one as dist/uPlot.esm.js. Run by the Worker project's build (Worker.csproj, BuildConsole).
import { cpSync, mkdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, '..', 'Worker', 'wwwroot', 'console');
const uplot = join(here, 'node_modules', 'uplot', 'dist');

rmSync(out, { recursive: true, force: true });
mkdirSync(join(out, 'lib'), { recursive: true });
cpSync(join(here, 'src'), out, { recursive: true });
cpSync(join(uplot, 'uPlot.esm.js'), join(out, 'lib', 'uPlot.esm.js'));
cpSync(join(uplot, 'uPlot.min.css'), join(out, 'lib', 'uPlot.min.css'));
console.log(`ops console built into ${out}`);
