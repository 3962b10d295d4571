import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { makeEvent, uniqueTopic } from '../helpers/events.js';
import { serverForSuite } from '../helpers/server.js';
import { browserForSuite, publish, screenshot, waitForText } from './browser.js';

describe('dashboard layout', { timeout: 300_000 }, () => {
  const server = serverForSuite('pglite');
  const browser = browserForSuite();

  for (const width of [1400, 1920]) {
    test(`the topic table's "Last event" column is not clipped at ${width} px`, async () => {
      // A long topic name, as real ones are (service.component.event).
      const topic = uniqueTopic('payments.gateway.notification.settlement');
      await publish(server.url, [makeEvent(topic, 'layout-1')]);
      const page = await browser.newPage({ width, height: 900 });
      await page.goto(server.url);
      const header = page.locator('.topics th', { hasText: 'Last event' });
      await waitForText(page.locator('.topics tbody'), new RegExp(topic));
      const wrap = page.locator('.topics .table-wrap');
      const [cell, box] = [await header.boundingBox(), await wrap.boundingBox()];
      assert.ok(cell && box);
      await screenshot(page, `layout-${width}`);
      const overflow = await wrap.evaluate((el) => el.scrollWidth - el.clientWidth);
      assert.ok(overflow <= 0, `the table overflows its panel by ${overflow} px`);
      assert.ok(
        cell.x + cell.width <= box.x + box.width + 0.5,
        `"Last event" ends at ${cell.x + cell.width}, the panel at ${box.x + box.width}`,
      );
      await page.close();
    });
  }
});
