import { currentTenant, setTenant } from './api-key.js';
import { byId } from './dom.js';

/**
 * The tenant the page reads (docs/tenants.md, "The dashboard"), sent as X-Scope-OrgID on every request. Empty
 * reads the key's own tenant (`default` without keys); a key bound to one tenant is refused another with a 403,
 * which the banner shows with the server's words. Applied on Enter or when the field loses focus.
 */
export function createTenantPicker(): void {
  const form = byId<HTMLFormElement>('tenant-form');
  const input = byId<HTMLInputElement>('tenant-input');
  input.value = currentTenant() ?? '';
  const apply = (): void => {
    // The browser checks the pattern (a tenant name, as the server reads it); an invalid name is not sent.
    if (!input.checkValidity()) {
      input.reportValidity();
      return;
    }
    setTenant(input.value === '' ? null : input.value);
  };
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    apply();
  });
  input.addEventListener('change', apply);
}
