// A secret counts as leaked when any eight characters of it in a row appear in an output: a
// parser's excerpt that cuts a token short still gives most of it away.

/** A kubeconfig whose YAML breaks right after its token, so a parser quotes the lines around it. */
export function brokenKubeconfig(token: string): string {
  return [
    'apiVersion: v1',
    'kind: Config',
    'users:',
    '- name: u',
    '  user:',
    `    token: ${token}`,
    '   bad: indentation',
    '',
  ].join('\n');
}

export const TEST_SECRET = 'sEcReT0123456789abcdefghijklmnopqrstuvwxyzABCDEF';

/** Every eight-character piece of `secret` found in `outputs`. */
export function leakedPieces(secret: string, ...outputs: string[]): string[] {
  const all = outputs.join('\n');
  const pieces = Array.from({ length: secret.length - 7 }, (_, i) => secret.slice(i, i + 8));
  return pieces.filter((p) => all.includes(p));
}
