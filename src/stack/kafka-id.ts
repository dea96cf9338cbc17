// Kafka KRaft cluster ids: 16 random bytes in unpadded base64url (22 characters), as Kafka's own
// Uuid.randomUuid() makes them. Kafka's generator skips ids that start with '-': a command-line
// parser (kafka-storage's argparse4j among them) reads such a value as an option.
import { randomBytes } from 'node:crypto';

/** True for a well-formed id that no option parser can mistake for a flag. */
export function usableKafkaClusterId(id: string): boolean {
  if (!/^[A-Za-z0-9_][A-Za-z0-9_-]{21}$/.test(id)) return false;
  const bytes = Buffer.from(id, 'base64url');
  return bytes.length === 16 && bytes.toString('base64url') === id && bytes.some((b) => b !== 0);
}

/** A new cluster id; `random` is injectable so a test can feed bytes that would encode to '-…'. */
export function newKafkaClusterId(random: (n: number) => Buffer = randomBytes): string {
  for (;;) {
    const id = random(16).toString('base64url');
    if (usableKafkaClusterId(id)) return id;
  }
}
