import { onKeyNeeded, setKey } from './api-key.js';
import { byId } from './dom.js';

/** The API-key prompt: a modal dialog opened on the first 401, and again from the header button. */
export function createKeyDialog(): void {
  const dialog = byId<HTMLDialogElement>('key-dialog');
  const form = byId<HTMLFormElement>('key-form');
  const input = byId<HTMLInputElement>('key-input');
  const error = byId('key-error');
  const button = byId<HTMLButtonElement>('key-button');

  const open = (refused: boolean): void => {
    error.hidden = !refused;
    error.textContent = refused ? 'That key was refused. Check it and try again.' : '';
    button.hidden = false;
    if (!dialog.open) dialog.showModal();
    input.select();
  };
  onKeyNeeded(open);
  button.addEventListener('click', () => open(false));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const key = input.value;
    if (key === '') return;
    dialog.close();
    input.value = '';
    setKey(key);
  });
}
