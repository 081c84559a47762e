using Worker.OpsConsole;
using Worker.Tests.Fakes;

namespace Worker.Tests.OpsConsole;

/// <summary>Bad KPI targets stop the worker at start, each naming the key to fix and its variable.</summary>
public class ConsoleOptionsTests
{
    private static IReadOnlyList<string> Problems(params (string Key, string? Value)[] changes) =>
        StartupChecks.Problems(StartupChecks.ValidWith(changes), (services, _) => services.AddOpsConsole());

    [Fact]
    public void The_defaults_start() => Assert.Empty(Problems());

    [Fact]
    public void Targets_within_bounds_start() =>
        Assert.Empty(Problems(("Console:Targets:Availability", "0.99"), ("Console:Targets:AvailabilityAmber", "0.95"),
            ("Console:Targets:CostUsd", "50"), ("Console:Targets:CostAmberUsd", "80")));

    [Theory]
    [InlineData("Console:Targets:Availability", "99.9", "Console:Targets:Availability must be a share between 0 and 1 (0.999 is 99.9 %), was 99.9 (env Console__Targets__Availability)")]
    [InlineData("Console:Targets:MttrSeconds", "0", "Console:Targets:MttrSeconds must be above 0 seconds, was 0 (env Console__Targets__MttrSeconds)")]
    [InlineData("Console:Targets:P95AmberSeconds", "5", "Console:Targets:P95AmberSeconds must be at least Console:Targets:P95Seconds (10): amber lies above the target, was 5 (env Console__Targets__P95AmberSeconds)")]
    [InlineData("Console:Targets:AvailabilityAmber", "0.9995", "Console:Targets:AvailabilityAmber must be at most Console:Targets:Availability (0.999): amber lies below the target, was 0.9995 (env Console__Targets__AvailabilityAmber)")]
    [InlineData("Console:Targets:CostAmberUsd", "5", "Console:Targets:CostAmberUsd must be empty, or at least Console:Targets:CostUsd (which must then be set), was 5 (env Console__Targets__CostAmberUsd)")]
    [InlineData("Console:Targets:Mttr", "30", "Console:Targets:Mttr is not a setting; known: Availability, AvailabilityAmber, FallbackRate, FallbackRateAmber, MttrSeconds, MttrAmberSeconds, P95Seconds, P95AmberSeconds, CostUsd, CostAmberUsd (env Console__Targets__Mttr)")]
    public void A_bad_target_is_refused_naming_the_key(string key, string value, string expected) =>
        Assert.Equal(expected, Assert.Single(Problems((key, value))));
}
