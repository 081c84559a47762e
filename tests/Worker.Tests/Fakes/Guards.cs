using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Worker.ProviderHealth;

namespace Worker.Tests.Fakes;

/// <summary>Breakers and pacing budgets on a given clock, permissive unless a test asks otherwise.</summary>
public static class Guards
{
    public static CircuitBreakers Breakers(TimeProvider time, ProviderHealthOptions? options = null) =>
        new(Options.Create(options ?? new ProviderHealthOptions { MinimumThroughput = 1000 }), time, NullLogger<CircuitBreakers>.Instance);

    public static RateBudgets Budgets(TimeProvider time, PacingSection? pacing = null) =>
        new(Options.Create(pacing ?? new PacingSection()), time);
}
