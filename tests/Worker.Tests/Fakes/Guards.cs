using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Worker.Chain;
using Worker.Audit;
using Worker.ProviderHealth;
using Worker.Providers;
using Worker.Routing;

namespace Worker.Tests.Fakes;

/// <summary>Breakers and pacing budgets on a given clock, permissive unless a test asks otherwise.</summary>
public static class Guards
{
    public static CircuitBreakers Breakers(TimeProvider time, ProviderHealthOptions? options = null) =>
        new(Options.Create(options ?? new ProviderHealthOptions { MinimumThroughput = 1000 }), time, NullLogger<CircuitBreakers>.Instance);

    /// <summary>The Chain section; deferral off by default, so every wait happens in the run (as before deferral existed).</summary>
    public static IOptions<ChainRunOptions> ChainRun(ChainRunOptions? options = null) =>
        Options.Create(options ?? new ChainRunOptions { MaxDeferral = TimeSpan.Zero });

    public static RateBudgets Budgets(TimeProvider time, PacingSection? pacing = null) =>
        new(Options.Create(pacing ?? new PacingSection()), time);

    /// <summary>A router over <paramref name="chains"/>, ranking by <paramref name="figures"/> (nothing known by default).</summary>
    public static Router Router(ChainCatalog chains, RoutingOptions? routing = null, ProvidersOptions? providers = null, RouteFigures? figures = null,
        CircuitBreakers? breakers = null, PricingOptions? pricing = null, IQuotaView? quotas = null) =>
        new(chains, Options.Create(routing ?? new RoutingOptions()), Options.Create(providers ?? new ProvidersOptions()), figures ?? new RouteFigures(),
            breakers ?? Breakers(TimeProvider.System), Options.Create(new ProviderHealthOptions()), Costs(pricing), quotas);

    public static CallCost Costs(PricingOptions? pricing = null) => new(new PriceTable(Options.Create(pricing ?? new PricingOptions())));

    /// <summary>The breaker transitions queued since the last look, oldest first.</summary>
    public static List<string> TakeTransitions(this BreakerEventLog events)
    {
        var transitions = new List<string>();
        while (events.Reader.TryRead(out var row))
            transitions.Add(row.Transition);
        return transitions;
    }
}
