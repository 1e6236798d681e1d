import { createInterface } from 'node:readline';
import { Writable } from 'node:stream';

/** Reads all of stdin (piped), without the trailing newline. */
async function readPiped(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
}

/** Prompts without echo on a terminal. */
function promptHidden(question: string): Promise<string> {
  let muted = false;
  const out = new Writable({
    write(chunk, _enc, cb) {
      if (!muted) process.stderr.write(chunk);
      cb();
    },
  });
  const rl = createInterface({ input: process.stdin, output: out, terminal: true });
  return new Promise((resolve) => {
    process.stderr.write(question);
    muted = true;
    rl.question('', (answer) => {
      rl.close();
      process.stderr.write('\n');
      resolve(answer);
    });
  });
}

/** Password from a hidden prompt (typed twice) on a terminal, or from stdin when piped. */
export async function readPassword(): Promise<string> {
  if (!process.stdin.isTTY) return readPiped();
  const first = await promptHidden('Password: ');
  const second = await promptHidden('Repeat password: ');
  if (first !== second) throw new Error('The two passwords differ; nothing was changed.');
  return first;
}

/** One line typed (echoed) on a terminal after `question` (on stderr), or the first line of stdin when piped. */
export async function readLine(question: string): Promise<string> {
  process.stderr.write(question);
  if (!process.stdin.isTTY) {
    const text = await readPiped();
    process.stderr.write('\n');
    return text.split(/\r?\n/)[0] ?? '';
  }
  const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: true });
  return new Promise((resolve) => {
    rl.question('', (answer) => {
      rl.close();
      resolve(answer);
    });
  });
}
