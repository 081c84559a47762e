using Microsoft.Extensions.Options;
using Worker.ProviderHealth;

namespace Worker.Routing;

/// <summary>
/// The live figures the router ranks by (error rate and p95 per provider and model over ProviderHealth:States:Window),
/// read from the audit trail every Routing:RefreshInterval rather than per request: routing costs no database round trip.
/// Every instance reads the same table, so all rank alike.
/// </summary>
public sealed class RouteFigures
{
    private volatile IReadOnlyDictionary<ProviderModel, HealthFigures> _latest = new Dictionary<ProviderModel, HealthFigures>();

    /// <summary>The figures of <paramref name="pair"/> at the last refresh; none (nothing known) before the first.</summary>
    public HealthFigures Of(ProviderModel pair) => _latest.TryGetValue(pair, out var figures) ? figures : HealthFigures.None(pair);

    /// <summary>Replaces every figure at once: a read never sees half of one refresh.</summary>
    public void Update(IEnumerable<HealthFigures> figures) => _latest = figures.ToDictionary(f => f.Pair);
}

/// <summary>Refreshes <see cref="RouteFigures"/> on Routing:RefreshInterval; a failed read keeps the last figures.</summary>
public sealed class RouteFiguresRefresher(
    RouteFigures figures,
    HealthFiguresQuery query,
    IMonitoredModels monitored,
    IOptions<RoutingOptions> options,
    TimeProvider time,
    ILogger<RouteFiguresRefresher> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Value.RefreshInterval, time);
        do
        {
            try
            {
                figures.Update(await query.RunAsync(monitored.Models, time.GetUtcNow(), stoppingToken));
            }
            catch (Exception e) when (!stoppingToken.IsCancellationRequested && e is Npgsql.NpgsqlException or TimeoutException or InvalidOperationException)
            {
                Log.FiguresNotRead(logger, e.Message);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }
}
