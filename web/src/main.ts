import './styles.css';
import { onKeyChanged, onTenantChanged } from './api-key.js';
import { createCharts } from './charts.js';
import { createConnectionStatus } from './connection-status.js';
import { byId, setText } from './dom.js';
import { createEventsBrowser } from './events-browser.js';
import { createKeyDialog } from './key-dialog.js';
import { createHistogram } from './histogram.js';
import { LiveTail, tailFilter } from './live-tail.js';
import { createOverview } from './overview.js';
import { StatsPoller } from './poller.js';
import { computeRates, countsFor } from './rates.js';
import { onTopicChange, selectedTopic, selectTopic } from './topic-filter.js';
import { createTenantPicker } from './tenant-picker.js';
import { createTopicsTable } from './topics.js';

createKeyDialog();
createTenantPicker();
const poller = new StatsPoller();
const showStatus = createConnectionStatus();
const overview = createOverview();
const charts = createCharts();
const topics = createTopicsTable();
const tail = new LiveTail();
// The histogram's picks go to the events browser, whose applied filters come back to the histogram and the tail.
const histogram = createHistogram((range) => events.zoom(range));
const events = createEventsBrowser((filters) => {
  histogram.show(filters);
  tail.follow(tailFilter(filters));
});

poller.subscribe((snapshot, previous) => {
  const topic = selectedTopic();
  showStatus(snapshot);
  overview(snapshot, previous, topic);
  topics.update(snapshot);
  if (snapshot.stats) events.noticeStored(countsFor(snapshot, topic)?.stored ?? 0);
  if (snapshot.stats) charts.push(computeRates(snapshot, previous, topic), snapshot.at);
});

const filterBar = byId('filter-bar');
function showFilter(topic: string | null): void {
  filterBar.hidden = topic === null;
  setText(byId('filter-topic'), topic ?? '');
}
byId('clear-filter').addEventListener('click', () => selectTopic(null));
// The skip link moves focus without touching the URL fragment, which holds the topic filter.
byId('skip-link').addEventListener('click', (event) => {
  event.preventDefault();
  byId('events-h').focus();
});

onTopicChange((topic) => {
  showFilter(topic);
  charts.resetRates();
  topics.refreshSelection();
  // The browser takes the topic into its form and applies it: the histogram and the tail follow from there.
  events.reload();
  poller.refresh();
});

onKeyChanged(() => {
  poller.refresh();
  events.retry();
  tail.retry();
});

// Another tenant's data: every view starts over (the tail first, so the form's re-apply finds it following).
onTenantChanged(() => {
  charts.resetRates();
  tail.restart();
  events.reload();
  poller.reset();
});

showFilter(selectedTopic());
poller.start();
events.reload();
