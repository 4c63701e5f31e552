// Test PKI: a private CA and a server certificate shaped like Let's Encrypt's (RSA 2048, SAN
// dNSNames, serverAuth, 90-day life by default in the topology), written with the file names
// of /etc/letsencrypt/live/DOMAIN/. RSA keys come from node's native generator (forge's pure
// JS one takes seconds); forge builds and signs the certificates.
import { createPrivateKey, generateKeyPair, generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { join } from 'node:path';
import forge from 'node-forge';

export interface CertAndKey {
  /** PEM certificate */
  certPem: string;
  /** PEM private key, PKCS#8 ("BEGIN PRIVATE KEY", as certbot writes it) */
  keyPem: string;
}

export interface ServerCert extends CertAndKey {
  /** leaf + CA, like Let's Encrypt's fullchain.pem */
  chainPem: string;
}

const DAY = 86_400_000;

/** A fresh RSA private key made off the event loop (libuv's pool): a stack's two keys are made side
 *  by side, and beside Docker's work, instead of holding its start for half a second each. */
export function rsaPrivateKey(bits = 2048): Promise<KeyObject> {
  return new Promise((resolve, reject) => generateKeyPair('rsa', { modulusLength: bits, publicExponent: 0x10001 }, (e, _pub, key) => (e ? reject(e) : resolve(key))));
}

/** An RSA key pair (given, or generated natively now) as forge objects for signing. */
function rsaKey(bits: number, given?: KeyObject): { forgeKey: forge.pki.rsa.PrivateKey; publicKey: forge.pki.rsa.PublicKey; pkcs8Pem: string } {
  const privateKey = given ?? generateKeyPairSync('rsa', { modulusLength: bits, publicExponent: 0x10001 }).privateKey;
  const pkcs1 = privateKey.export({ type: 'pkcs1', format: 'pem' }) as string;
  const forgeKey = forge.pki.privateKeyFromPem(pkcs1) as forge.pki.rsa.PrivateKey;
  return {
    forgeKey,
    publicKey: forge.pki.setRsaPublicKey(forgeKey.n, forgeKey.e),
    pkcs8Pem: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
  };
}

/** A random positive 128-bit serial number, hex (the high bit cleared so DER keeps it positive). */
function randomSerial(): string {
  const b = randomBytes(16);
  b[0] = (b[0] & 0x7f) | 0x01;
  return b.toString('hex');
}

const sign = (cert: forge.pki.Certificate, key: forge.pki.rsa.PrivateKey) => cert.sign(key, forge.md.sha256.create());

export function makeCa(o: { commonName?: string; days?: number; key?: KeyObject } = {}): CertAndKey {
  const key = rsaKey(2048, o.key);
  const cert = forge.pki.createCertificate();
  cert.publicKey = key.publicKey;
  cert.serialNumber = randomSerial();
  const now = Date.now();
  cert.validity.notBefore = new Date(now - DAY);
  cert.validity.notAfter = new Date(now + (o.days ?? 3650) * DAY);
  const attrs = [
    { name: 'commonName', value: o.commonName ?? 'comfy-verify Test CA' },
    { name: 'organizationName', value: 'comfy-verify' },
  ];
  cert.setSubject(attrs);
  cert.setIssuer(attrs);
  cert.setExtensions([
    { name: 'basicConstraints', cA: true, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
    { name: 'subjectKeyIdentifier' },
  ]);
  sign(cert, key.forgeKey);
  return { certPem: forge.pki.certificateToPem(cert), keyPem: key.pkcs8Pem };
}

export function makeServerCert(
  ca: CertAndKey,
  o: { commonName: string; altNames: string[]; notBefore: Date; notAfter: Date; keyBits?: number; key?: KeyObject },
): ServerCert {
  const caCert = forge.pki.certificateFromPem(ca.certPem);
  const caKey = forge.pki.privateKeyFromPem(createPrivateKey(ca.keyPem).export({ type: 'pkcs1', format: 'pem' }) as string) as forge.pki.rsa.PrivateKey;
  const key = rsaKey(o.keyBits ?? 2048, o.key);
  const cert = forge.pki.createCertificate();
  cert.publicKey = key.publicKey;
  cert.serialNumber = randomSerial();
  cert.validity.notBefore = o.notBefore;
  cert.validity.notAfter = o.notAfter;
  // Let's Encrypt leaves carry the CN only; the names that count are the SANs.
  cert.setSubject([{ name: 'commonName', value: o.commonName }]);
  cert.setIssuer(caCert.subject.attributes);
  const altNames = o.altNames.map((n) => (isIP(n) ? { type: 7, ip: n } : { type: 2, value: n }));
  cert.setExtensions([
    { name: 'basicConstraints', cA: false, critical: true },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    { name: 'extKeyUsage', serverAuth: true },
    { name: 'subjectAltName', altNames },
    { name: 'subjectKeyIdentifier' },
    { name: 'authorityKeyIdentifier', keyIdentifier: caCert.generateSubjectKeyIdentifier().getBytes() },
  ]);
  sign(cert, caKey);
  const certPem = forge.pki.certificateToPem(cert);
  return { certPem, keyPem: key.pkcs8Pem, chainPem: certPem + ca.certPem };
}

export interface TlsFiles {
  dir: string;
  fullchain: string;
  privkey: string;
  cert: string;
  chain: string;
  ca: string;
}

/**
 * Writes the files certbot keeps in /etc/letsencrypt/live/DOMAIN/ (fullchain.pem, privkey.pem,
 * cert.pem, chain.pem) plus ca.pem, the trust anchor clients need for our private CA.
 * privkey.pem is 0600, as certbot leaves it (nginx's master process reads it as root).
 */
export function writeTls(dir: string, ca: CertAndKey, server: ServerCert, o: { keyMode?: number } = {}): TlsFiles {
  mkdirSync(dir, { recursive: true });
  const files: TlsFiles = {
    dir,
    fullchain: join(dir, 'fullchain.pem'),
    privkey: join(dir, 'privkey.pem'),
    cert: join(dir, 'cert.pem'),
    chain: join(dir, 'chain.pem'),
    ca: join(dir, 'ca.pem'),
  };
  writeFileSync(files.fullchain, server.chainPem);
  writeFileSync(files.privkey, server.keyPem, { mode: o.keyMode ?? 0o600 });
  chmodSync(files.privkey, o.keyMode ?? 0o600);
  writeFileSync(files.cert, server.certPem);
  writeFileSync(files.chain, ca.certPem);
  writeFileSync(files.ca, ca.certPem);
  return files;
}
