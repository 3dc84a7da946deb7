// Kubernetes API failures as one line: the apiserver's message cut to a bounded excerpt, and a
// refusal by an admission webhook or policy named as such instead of sending the reader to RBAC.
import { describe, expect, it } from '@jest/globals';
import { ApiException } from '@kubernetes/client-node';
import {
  admissionRefusal,
  describeApiError,
  isUnknownResource,
  serverMessage,
} from '../../lib/cluster/api-error.js';

/** What @kubernetes/client-node throws for an error answer: the code and the body as text. */
const answered = (code: number, message: string, reason = 'Forbidden') =>
  new ApiException(
    code,
    'Unknown API Status Code!',
    JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', message, reason, code }),
    {},
  );

const ACTION = 'writing IPAddressPool metallb-system/ipv6-pool';
const WEBHOOK = 'admission webhook "deny.example.com" denied the request: IPAddressPool edits are frozen';
const POLICY =
  "ValidatingAdmissionPolicy 'pool-freeze' with binding 'pool-freeze-binding' denied request: failed expression: false";
const RBAC =
  'ipaddresspools.metallb.io "ipv6-pool" is forbidden: User "system:serviceaccount:metallb-system:metallb-dyn6" cannot patch resource "ipaddresspools"';

describe('the RBAC hint', () => {
  it('a plain 403 points at the Role, with the apiserver message', () => {
    expect(describeApiError(ACTION, answered(403, RBAC)).message).toBe(
      `${ACTION}: forbidden (403): ${RBAC}; check the Role bound to this identity`,
    );
    expect(describeApiError(ACTION, { code: 403 }).message).toBe(
      `${ACTION}: forbidden (403); check the Role bound to this identity`,
    );
  });

  it('other codes keep their message and get no hint', () => {
    const error = describeApiError(ACTION, answered(409, 'the object has been modified', 'Conflict'));
    expect(error.message).toBe(`${ACTION}: HTTP 409: the object has been modified`);
    expect(error.status).toBe(409);
    expect(describeApiError(ACTION, { code: 500 }).message).toBe(`${ACTION}: HTTP 500`);
    expect(describeApiError(ACTION, answered(401, 'Unauthorized')).message).toBe(
      `${ACTION}: unauthorized (401): the credentials were refused`,
    );
  });
});

describe('a refusal by admission', () => {
  it('a webhook that refuses with 403 is named instead of the Role', () => {
    const error = describeApiError(ACTION, answered(403, WEBHOOK));
    expect(error.message).toBe(
      `${ACTION}: forbidden (403): ${WEBHOOK}; refused by admission webhook deny.example.com, not by RBAC`,
    );
    expect(error.message).not.toContain('check the Role');
    expect(error.status).toBe(403);
  });

  it.each([400, 422, 500])('a webhook is named whatever code it answers with (%d)', (code) => {
    const error = describeApiError(ACTION, answered(code, WEBHOOK, 'BadRequest'));
    expect(error.message).toBe(
      `${ACTION}: HTTP ${String(code)}: ${WEBHOOK}; refused by admission webhook deny.example.com, not by RBAC`,
    );
  });

  it('a webhook that gives no reason is named too', () => {
    const bare = 'admission webhook "freeze.metallb-dyn6.test" denied the request without explanation';
    expect(describeApiError(ACTION, answered(400, bare)).message).toBe(
      `${ACTION}: HTTP 400: ${bare}; refused by admission webhook freeze.metallb-dyn6.test, not by RBAC`,
    );
  });

  it('a ValidatingAdmissionPolicy is named with its binding, as 422 or 403', () => {
    expect(describeApiError(ACTION, answered(422, POLICY, 'Invalid')).message).toBe(
      `${ACTION}: HTTP 422: ${POLICY}; refused by ValidatingAdmissionPolicy pool-freeze (binding pool-freeze-binding), not by RBAC`,
    );
    const forbidden = describeApiError(ACTION, answered(403, POLICY));
    expect(forbidden.message).toContain(
      '; refused by ValidatingAdmissionPolicy pool-freeze (binding pool-freeze-binding), not by RBAC',
    );
    expect(forbidden.message).not.toContain('check the Role');
  });

  it('reads the webhook or policy out of the message', () => {
    expect(admissionRefusal(answered(403, WEBHOOK))).toBe('admission webhook deny.example.com');
    expect(admissionRefusal(answered(403, POLICY))).toBe(
      'ValidatingAdmissionPolicy pool-freeze (binding pool-freeze-binding)',
    );
    expect(admissionRefusal(answered(403, "MutatingAdmissionPolicy 'm' denied request: no"))).toBe(
      'MutatingAdmissionPolicy m',
    );
    expect(admissionRefusal({ code: 403, body: { message: WEBHOOK } })).toBe(
      'admission webhook deny.example.com',
    );
  });

  it('finds nothing in other messages, or without one', () => {
    for (const message of [
      RBAC,
      'admission webhook "" denied the request',
      "ValidatingAdmissionPolicy '' denied request",
    ]) {
      expect(admissionRefusal(answered(403, message))).toBeUndefined();
    }
    expect(admissionRefusal({ code: 403 })).toBeUndefined();
    expect(admissionRefusal(new Error(WEBHOOK))).toBeUndefined();
  });

  it('a name too long to be one is cut', () => {
    const name = 'w'.repeat(300);
    expect(admissionRefusal(answered(403, `admission webhook "${name}" denied the request`))).toBe(
      `admission webhook ${'w'.repeat(253)}… (300 bytes in all)`,
    );
  });
});

describe('what the apiserver said, bounded', () => {
  it('a long Status message is cut to 512 bytes and its length named, on every path', () => {
    const long = `${WEBHOOK}: ${'x'.repeat(250_000)}`;
    const bytes = Buffer.byteLength(long);
    expect(serverMessage(answered(400, long))).toBe(`${long.slice(0, 512)}… (${String(bytes)} bytes in all)`);
    for (const code of [400, 403, 422, 503]) {
      const message = describeApiError(ACTION, answered(code, long)).message;
      expect(message).toContain(`${long.slice(0, 512)}… (${String(bytes)} bytes in all)`);
      expect(message).toContain('refused by admission webhook deny.example.com, not by RBAC');
      expect(Buffer.byteLength(message)).toBeLessThan(700);
    }
  });

  it('a body that is not a Status (a proxy page) is cut the same way', () => {
    const page = `<html>${'p'.repeat(10_000)}</html>`;
    expect(serverMessage({ code: 502, body: `  ${page}\n` })).toBe(
      `${page.slice(0, 512)}… (10013 bytes in all)`,
    );
    expect(serverMessage({ code: 502, body: 'Bad Gateway' })).toBe('Bad Gateway');
    expect(serverMessage({ code: 502, body: ' \n' })).toBeUndefined();
    expect(serverMessage({ code: 502, body: { message: 7 } })).toBeUndefined();
    expect(serverMessage({ code: 502 })).toBeUndefined();
    expect(serverMessage(null)).toBeUndefined();
  });

  it('a failure that is not an answer keeps its own text, cut too', () => {
    expect(describeApiError(ACTION, new Error('connect ECONNREFUSED 127.0.0.1:6443')).message).toBe(
      `${ACTION}: connect ECONNREFUSED 127.0.0.1:6443`,
    );
    expect(describeApiError(ACTION, new Error('y'.repeat(600))).message).toBe(
      `${ACTION}: ${'y'.repeat(512)}… (600 bytes in all)`,
    );
  });

  it('a long 404 message still tells an unserved kind from an absent object', () => {
    const unserved = `the server could not find the requested resource ${'z'.repeat(1000)}`;
    expect(isUnknownResource(answered(404, unserved, 'NotFound'))).toBe(true);
    expect(isUnknownResource(answered(404, 'ipaddresspools.metallb.io "x" not found', 'NotFound'))).toBe(
      false,
    );
  });
});
