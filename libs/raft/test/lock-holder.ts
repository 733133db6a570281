// Test fixture (run by src/storage/raft-storage.spec.ts in a child process): opens the Raft storage in the directory
// given as argument, reports the outcome on stdout, and holds the storage until stdin closes.
import { openRaftStorage } from '../src/storage/raft-storage';

const dir = process.argv[2];
openRaftStorage(dir).then(
  (storage) => {
    process.stdout.write(`opened ${process.pid}\n`);
    process.stdin.resume();
    process.stdin.on('end', () => {
      void storage.close().then(() => process.exit(0));
    });
  },
  (e: { code?: string }) => {
    process.stdout.write(`error ${e.code ?? String(e)}\n`);
    process.exit(1);
  },
);
