import type { LogaggClient, PublishReceipt } from './http.js';
import { settleRefused } from './refusal.js';
import type { Entry, Settlement } from './settlement.js';

/**
 * Sends one batch as one request (retries are the client's) and settles its events by the answer; a refusal is
 * split by settleRefused so one bad event does not fail the others that shared its request.
 */
export class BatchSender {
  constructor(
    private readonly client: Pick<LogaggClient, 'publishRaw'>,
    private readonly settlement: Settlement,
  ) {}

  readonly send = async (entries: Entry[]): Promise<void> => {
    const body = entries.length === 1 ? (entries[0] as Entry).json : `[${entries.map((entry) => entry.json).join(',')}]`;
    let receipt: PublishReceipt;
    try {
      receipt = await this.client.publishRaw(body);
    } catch (err) {
      await settleRefused(entries, err, { send: this.send, fail: (failed, error) => this.settlement.fail(failed, error) });
      return;
    }
    this.settlement.commit(entries, receipt);
  };
}
