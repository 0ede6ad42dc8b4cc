import { isIP } from 'node:net';
import { currencyRules } from './payments/money';

/**
 * What a valid value of each setting looks like: each parser takes the raw text
 * and returns the value, or throws an Error whose message completes the sentence
 * "<SETTING> …" (config.ts adds the name and reports every problem at once).
 */

export function integerIn(min: number, max: number) {
  return (raw: string): number => {
    const value = Number(raw);
    if (!/^\d+$/.test(raw) || value < min || value > max) {
      throw new Error(`must be an integer from ${min} to ${max}`);
    }
    return value;
  };
}

export function hostAddress(raw: string): string {
  // Only digits and dots, or a colon, is meant as an IP address: 999.1.1.1 would otherwise fail later as an unknown host.
  const meantAsIp = /^[\d.]+$/.test(raw) || raw.includes(':');
  if (!/^[A-Za-z0-9.:-]+$/.test(raw) || (meantAsIp && !isIP(raw))) throw new Error('must be an IP address or a host name (e.g. 127.0.0.1 or 0.0.0.0)');
  return raw;
}

export function secret(raw: string): string {
  return raw;
}

/** A webhook endpoint's signing secret (Stripe, "Check the webhook signatures": `whsec_…`). */
export function webhookSecret(raw: string): string {
  if (!/^whsec_\S+$/.test(raw)) throw new Error('must be a Stripe webhook signing secret (whsec_…)');
  return raw;
}

/** A secret (sk_) or restricted (rk_) key; a publishable key (pk_) cannot charge. */
export function stripeSecretKey(raw: string): string {
  if (!/^(sk|rk)_(test|live)_\S+$/.test(raw)) throw new Error('must be a Stripe secret key (sk_test_…, sk_live_… or rk_…)');
  return raw;
}

/** NATS Streaming takes the ack wait in whole seconds. */
export function wholeSeconds(parse: (raw: string) => number) {
  return (raw: string): number => {
    const value = parse(raw);
    if (value % 1000 !== 0) throw new Error('must be a whole number of seconds (a multiple of 1000)');
    return value;
  };
}

export function plainName(raw: string): string {
  if (!/^[A-Za-z0-9_.-]+$/.test(raw)) throw new Error('may hold only letters, digits, "_", "." and "-"');
  return raw;
}

/** JetStream stream names may not hold spaces, `.`, `*`, `>`, path separators or control characters. */
export function streamName(raw: string): string {
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(raw)) throw new Error('may hold only letters, digits, "_" and "-" (at most 64)');
  return raw;
}

export function mongoUri(raw: string): string {
  const hosts = /^mongodb(\+srv)?:\/\/(?:[^@/]*@)?([^/?]+)/.exec(raw);
  if (!hosts) throw new Error('must be a mongodb:// or mongodb+srv:// URI');
  // The driver would say only "Invalid port": name the setting instead.
  for (const host of hosts[2].split(',')) {
    const port = /:([^:\]]*)$/.exec(host)?.[1];
    if (port !== undefined && !(/^\d+$/.test(port) && Number(port) >= 1 && Number(port) <= 65535)) throw new Error('has a port that is not from 1 to 65535');
  }
  return raw;
}

/** The cluster writes NATS_URL as http://host:port; the client speaks nats://. */
export function natsUrl(raw: string): string {
  const url = parseUrl(raw, ['http:', 'nats:']);
  if (!url.hostname || !url.port) throw new Error('must name a host and a port');
  return `nats://${url.host}`;
}

export function httpUrl(raw: string): URL {
  return parseUrl(raw, ['http:', 'https:']);
}

function parseUrl(raw: string, protocols: string[]): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new Error('is not a URL');
  }
  if (!protocols.includes(url.protocol)) {
    throw new Error(`must start with ${protocols.map((p) => `${p}//`).join(' or ')}`);
  }
  return url;
}

/** A currency Stripe charges in (see payments/money): checked at start, not at the first payment. */
export function currency(raw: string): string {
  if (!/^[a-zA-Z]{3}$/.test(raw)) throw new Error('must be a three-letter ISO currency code');
  try {
    return currencyRules(raw).currency;
  } catch (err) {
    throw new Error(`cannot be charged: ${(err as Error).message}`);
  }
}

export function oneOf<T extends string>(values: readonly T[]) {
  return (raw: string): T => {
    if (!values.includes(raw as T)) throw new Error(`must be one of ${values.join(', ')}`);
    return raw as T;
  };
}
