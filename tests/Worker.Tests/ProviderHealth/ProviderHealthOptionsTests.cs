using Worker.ProviderHealth;

namespace Worker.Tests.ProviderHealth;

/// <summary>Bad provider health settings stop the worker at start with a message naming the key.</summary>
public class ProviderHealthOptionsTests
{
    private static IReadOnlyList<string> Problems(ProviderHealthOptions options) =>
        new ProviderHealthOptionsValidator().Validate(null, options).Failures?.ToList() ?? [];

    [Fact]
    public void Defaults_are_valid() => Assert.Empty(Problems(new ProviderHealthOptions()));

    [Fact]
    public void A_ten_second_interval_with_the_default_timeout_is_valid() =>
        Assert.Empty(Problems(new ProviderHealthOptions { PingInterval = TimeSpan.FromSeconds(10) }));

    [Fact]
    public void Zero_intervals_turn_jobs_off() =>
        Assert.Empty(Problems(new ProviderHealthOptions { PingInterval = TimeSpan.Zero, SyncInterval = TimeSpan.Zero, AlertInterval = TimeSpan.Zero }));

    [Fact]
    public void A_ping_timeout_longer_than_the_interval_is_refused()
    {
        var problem = Assert.Single(Problems(new ProviderHealthOptions { PingInterval = TimeSpan.FromSeconds(10), PingTimeout = TimeSpan.FromSeconds(11) }));
        Assert.StartsWith("ProviderHealth:PingTimeout must be positive and not longer than PingInterval", problem);
        Assert.EndsWith("(env ProviderHealth__PingTimeout)", problem);
    }

    [Fact]
    public void Nested_thresholds_are_checked_and_named()
    {
        var options = new ProviderHealthOptions { PingInterval = TimeSpan.FromMilliseconds(500), PingTimeout = TimeSpan.FromMilliseconds(100) };
        options.States.DegradedErrorRate = 0.6;
        options.Alerts.FlappingOpens = 1;

        var problems = Problems(options);

        Assert.Equal(3, problems.Count);
        Assert.Contains(problems, p => p.StartsWith("ProviderHealth:PingInterval must be 0 (off) or at least 1 s", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.Contains("(env ProviderHealth__States__DegradedErrorRate)", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.StartsWith("ProviderHealth:Alerts:FlappingOpens must be at least 2", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("00:00:00")]
    [InlineData("30.00:00:00")]
    public void An_auth_break_outside_one_second_to_one_day_is_refused(string duration)
    {
        var problem = Assert.Single(Problems(new ProviderHealthOptions { AuthBreakDuration = TimeSpan.Parse(duration, System.Globalization.CultureInfo.InvariantCulture) }));
        Assert.StartsWith("ProviderHealth:AuthBreakDuration must be between 1 s and 1 day", problem);
        Assert.EndsWith("(env ProviderHealth__AuthBreakDuration)", problem);
    }
}
