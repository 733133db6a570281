// Preloaded with NODE_OPTIONS="--require .../cpu-profile-hook.cjs" (NODE_OPTIONS refuses --cpu-prof): profiles
// the whole process and writes CPUPROFILE_DIR/<role>-<pid>.cpuprofile when it exits (SIGTERM included).
const fs = require('node:fs');
const path = require('node:path');
const inspector = require('node:inspector');

const dir = process.env.CPUPROFILE_DIR;
if (dir) {
  const session = new inspector.Session();
  session.connect();
  session.post('Profiler.enable');
  session.post('Profiler.setSamplingInterval', { interval: 200 });
  session.post('Profiler.start');
  const role =
    (process.argv.find((a) => /apps\/(\w+)\/src\/main\.ts$/.test(a)) || '').replace(/.*apps\/(\w+)\/.*/, '$1') ||
    'node';
  let written = false;
  const write = () => {
    if (written) return;
    written = true;
    session.post('Profiler.stop', (err, res) => {
      if (err) return;
      fs.mkdirSync(dir, { recursive: true });
      fs.writeFileSync(path.join(dir, `${role}-${process.pid}.cpuprofile`), JSON.stringify(res.profile));
    });
  };
  process.on('exit', write);
  for (const sig of ['SIGTERM', 'SIGINT']) {
    process.prependListener(sig, write);
  }
}
