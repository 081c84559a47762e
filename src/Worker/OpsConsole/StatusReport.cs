using Microsoft.Extensions.Options;
using Worker.Audit;
using Worker.Chain;
using Worker.Budgets;
using Worker.ProviderHealth;

namespace Worker.OpsConsole;

/// <summary><c>GET /status</c>: the KPI tiles over the window, the recommendations, and how each provider and model stands now.</summary>
public sealed record StatusReport(
    string Window, DateTimeOffset Since, DateTimeOffset Until, IReadOnlyList<Kpi> Kpis, IReadOnlyList<Recommendation> Recommendations, IReadOnlyList<ProviderStatus> Providers);

/// <param name="State">healthy, degraded, critical or offline, as <c>GET /providers</c> has it.</param>
/// <param name="Breaker">This instance's breaker: closed, open, half_open or isolated.</param>
/// <param name="BadSince">Since when it has been offline or critical; null while neither.</param>
public sealed record ProviderStatus(string Provider, string Model, string State, string Reason, string Breaker, DateTimeOffset? BadSince);

/// <summary>Gathers the figures of <see cref="StatusReport"/> and applies the rules.</summary>
public sealed class StatusService(
    KpiQuery kpis,
    LatencyQuery latency,
    IMonitoredModels monitored,
    HealthFiguresQuery health,
    CircuitBreakers breakers,
    ProviderAlerts alerts,
    PostgresTenantBudgets budgets,
    IOptions<ProviderHealthOptions> healthOptions,
    IOptions<ConsoleOptions> options,
    ChainCatalog chains,
    IOptions<PricingOptions> pricing,
    TimeProvider time)
{
    public async Task<StatusReport> GetAsync(ConsoleWindow window, CancellationToken cancellationToken)
    {
        var until = time.GetUtcNow();
        var since = until - window.Span;
        var figures = await kpis.RunAsync(since, until, cancellationToken);
        figures = figures with { CostSavedUsd = figures.Routed.SavedAgainst(BaselinePrice()) };
        var tiles = Kpis.From(figures, options.Value.Targets);
        var providers = await ProvidersAsync(until, cancellationToken);
        var standings = providers.Select(p => new ProviderStanding(p.Provider, p.Model, p.State, p.Reason, p.BadSince)).ToList();
        var recommendations = RecommendationRules.Evaluate(
            standings, tiles.Single(k => k.Name == Kpis.FallbackRate), figures, window.Name,
            await latency.RunAsync(until, cancellationToken), await budgets.TodayAsync(cancellationToken), until);
        return new StatusReport(window.Name, since, until, tiles, recommendations, providers);
    }

    /// <summary>The price of the default chain's first model: what a request would have run on without route hints.</summary>
    private ModelPrice? BaselinePrice() =>
        chains.TryGet(null, out var steps) && steps.Count > 0 && pricing.Value.TryGetValue(steps[0].Model, out var price) ? price : null;

    private async Task<IReadOnlyList<ProviderStatus>> ProvidersAsync(DateTimeOffset now, CancellationToken cancellationToken)
    {
        var settings = healthOptions.Value;
        var pairs = monitored.Models;
        var open = await alerts.OpenAsync(pairs, cancellationToken);
        var views = new List<ProviderStatus>(pairs.Count);
        foreach (var f in await health.RunAsync(pairs, now, cancellationToken))
        {
            var (breaker, openSince) = breakers.StatusOf(f.Pair.Provider, f.Pair.Model);
            var verdict = HealthStates.Derive(f, breaker, settings);
            // Offline: since the breaker opened or the pings went down. Critical (error rate): since its alert was raised.
            var badSince = verdict.State switch
            {
                HealthState.Offline => AlertRules.OfflineSince(f, breaker, openSince, settings),
                HealthState.Critical => open.Where(a => a.Provider == f.Pair.Provider && a.Model == f.Pair.Model && a.Rule == AlertRules.ErrorRate)
                    .Select(a => (DateTimeOffset?)a.RaisedAt).Min(),
                _ => null,
            };
            views.Add(new ProviderStatus(f.Pair.Provider, f.Pair.Model, verdict.State.ToWireName(), verdict.Reason, breaker.ToWireName(), badSince));
        }

        return views;
    }
}
