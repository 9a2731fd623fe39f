// Models page: configured model groups, their deployments, prices and health.
import { html, useState, useEffect } from '/ui/vendor/preact.js';
import { get, getModels } from './api.js';
import { Alert, Badge, Spinner, Empty, Icon } from './ui.js';
import { price, short, plural } from './util.js';

export function ModelsPage() {
  const [models, setModels] = useState(null);
  const [error, setError] = useState(null);
  const [health, setHealth] = useState(null); // null = checking, Map id -> {healthy, error}
  const [healthErr, setHealthErr] = useState(null);
  const [tick, setTick] = useState(0);

  useEffect(() => {
    let live = true;
    setHealth(null);
    setHealthErr(null);
    getModels(tick > 0)
      .then((r) => {
        if (!live) return;
        setModels(r.data || []);
        setError(null);
        return get('/ui/api/health')
          .then((h) => { if (live) setHealth(new Map((h.data || []).map((x) => [x.id, x]))); })
          .catch((e) => { if (!live) return; if (e.status !== 401) setHealthErr(e.message); setHealth(new Map()); });
      })
      .catch((e) => { if (live && e.status !== 401) setError(e.message); });
    return () => { live = false; };
  }, [tick]);

  const deployments = models ? models.reduce((n, g) => n + g.deployments.length, 0) : 0;
  const unhealthy = health && models ? models.flatMap((g) => g.deployments).filter((d) => health.get(d.id) && !health.get(d.id).healthy).length : 0;

  return html`<section class="page">
    <header class="page-head">
      <div>
        <h1>Models</h1>
        <p class="sub">${models ? `${plural(models.length, 'model group')} · ${plural(deployments, 'deployment')}` : 'Model groups and their deployments.'}
          ${health && health.size > 0 && html` · ${unhealthy ? html`<span class="text-red">${unhealthy} unhealthy</span>` : html`<span class="text-green">all healthy</span>`}`}</p>
      </div>
      <button type="button" class="btn" disabled=${models && !health} onClick=${() => setTick((t) => t + 1)}><${Icon} name="refresh" size="14" />${models && !health ? 'Checking…' : 'Re-check health'}</button>
    </header>
    ${error && html`<${Alert}>${error}<//>`}
    ${healthErr && html`<${Alert}>Health check failed: ${healthErr}<//>`}
    ${!models && !error && html`<${Spinner} />`}
    ${models && models.length === 0 && html`<${Empty}>No models are configured.<//>`}
    ${models && models.length > 0 && html`<div class="table-wrap models-wrap">
      <table class="table models-table" aria-label="Deployments">
        <colgroup><col class="c-prov" /><col class="c-model" /><col class="c-base" /><col class="c-lim" /><col class="c-price" /><col class="c-price" /><col class="c-health" /></colgroup>
        <thead><tr>
          <th>Provider</th><th>Upstream model / ID</th><th>API base</th><th class="num">RPM / TPM</th>
          <th class="num">Input / output<span class="th-sub">USD per 1M tokens</span></th><th class="num">Cache read / write<span class="th-sub">USD per 1M tokens</span></th><th>Health</th>
        </tr></thead>
        ${models.map((g) => html`<${Group} key=${g.model_name} g=${g} health=${health} />`)}
      </table>
    </div>`}
  </section>`;
}

function HealthCell({ id, health }) {
  if (!health) return html`<${Spinner} label="Checking…" />`;
  const h = health.get(id);
  if (!h) return html`<span class="muted">Unknown</span>`;
  if (h.healthy) return html`<${Badge}>Healthy<//>`;
  return html`<div><${Badge}>Unhealthy<//>${h.error && html`<div class="tiny text-red health-err" title=${h.error}>${h.error}</div>`}</div>`;
}

function Group({ g, health }) {
  return html`<tbody class="group">
    <tr class="group-row"><th colspan="7" scope="rowgroup"><span class="mono group-name">${g.model_name}</span><span class="muted"> · ${plural(g.deployments.length, 'deployment')}</span></th></tr>
    ${g.deployments.map((d) => html`<tr key=${d.id} data-testid="deployment-row" data-id=${d.id}>
      <td><span class="chip">${d.provider}</span></td>
      <td><div class="mono trunc" title=${d.model}>${d.model}</div><div class="tiny muted mono trunc" title=${d.id}>${d.id}</div></td>
      <td class="mono muted trunc" title=${d.api_base || 'Provider default'}>${d.api_base || 'default'}</td>
      <td class="num mono">${d.rpm == null && d.tpm == null ? html`<span class="muted">—</span>` : `${d.rpm == null ? '—' : short(d.rpm)} / ${d.tpm == null ? '—' : short(d.tpm)}`}</td>
      ${d.price
        ? html`<td class="num mono" title=${'Price source: ' + (d.price_source || 'unknown')}>${price(d.price.input_per_mtok)} <span class="muted">/</span> ${price(d.price.output_per_mtok)}</td>
          <td class="num mono" title=${'Price source: ' + (d.price_source || 'unknown')}>${price(d.price.cache_read_per_mtok)} <span class="muted">/</span> ${price(d.price.cache_write_per_mtok)}</td>`
        : html`<td class="num muted" colspan="2">No price${d.price_source ? ` (source: ${d.price_source})` : ''}</td>`}
      <td><${HealthCell} id=${d.id} health=${health} /></td>
    </tr>`)}
  </tbody>`;
}
