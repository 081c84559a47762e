using Worker.Hosting;
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
        Assert.StartsWith("ProviderHealth:PingTimeout must not be longer than PingInterval (00:00:10), was 00:00:11", problem);
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
        Assert.Contains(problems, p => p.StartsWith("ProviderHealth:PingInterval must be 0 (off) or between 00:00:01 and 01:00:00", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.Contains("(env ProviderHealth__States__DegradedErrorRate)", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.StartsWith("ProviderHealth:Alerts:FlappingOpens must be at least 2", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("PingInterval", "ProviderHealth:PingInterval must be 0 (off) or between 00:00:01 and 01:00:00, was 30.00:00:00: a bare number is read as days, did you mean 00:00:30? (env ProviderHealth__PingInterval)")]
    [InlineData("SyncInterval", "ProviderHealth:SyncInterval must be 0 (off) or between 00:00:00.1 and 00:05:00, was 30.00:00:00: a bare number is read as days, did you mean 00:00:30? (env ProviderHealth__SyncInterval)")]
    [InlineData("AlertInterval", "ProviderHealth:AlertInterval must be 0 (off) or between 00:00:01 and 01:00:00, was 30.00:00:00: a bare number is read as days, did you mean 00:00:30? (env ProviderHealth__AlertInterval)")]
    public void An_interval_written_as_a_bare_number_is_refused_with_a_hint(string knob, string expected)
    {
        var options = new ProviderHealthOptions();
        typeof(ProviderHealthOptions).GetProperty(knob)!.SetValue(options, TimeSpan.FromDays(30));

        Assert.Equal(expected, Assert.Single(Problems(options)));
    }

    [Fact]
    public void Windows_have_upper_bounds()
    {
        var options = new ProviderHealthOptions();
        options.States.BaselineWindow = TimeSpan.FromDays(31);
        options.Alerts.FlappingWindow = TimeSpan.FromDays(2);

        var problems = Problems(options);

        Assert.Equal(2, problems.Count);
        Assert.Contains("ProviderHealth:States:BaselineWindow must be between 00:00:10 and 30.00:00:00, was 31.00:00:00", problems[0], StringComparison.Ordinal);
        Assert.Contains("ProviderHealth:Alerts:FlappingWindow must be between 00:00:01 and 1.00:00:00, was 2.00:00:00", problems[1], StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("00:00:00")]
    [InlineData("30.00:00:00")]
    public void An_auth_break_outside_one_second_to_one_day_is_refused(string duration)
    {
        var problem = Assert.Single(Problems(new ProviderHealthOptions { AuthBreakDuration = TimeSpan.Parse(duration, System.Globalization.CultureInfo.InvariantCulture) }));
        Assert.StartsWith("ProviderHealth:AuthBreakDuration must be between 00:00:01 and 1.00:00:00", problem);
        Assert.EndsWith("(env ProviderHealth__AuthBreakDuration)", problem);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(101)]
    public void Half_open_trials_outside_one_to_a_hundred_are_refused(int trials)
    {
        var problems = new OptionProblems();
        problems.Annotations(new ProviderHealthOptions { HalfOpenTrials = trials }, ProviderHealthOptions.Section);

        Assert.Equal($"ProviderHealth:HalfOpenTrials must be between 1 and 100, was {trials} (env ProviderHealth__HalfOpenTrials)", Assert.Single(problems.All));
    }
}
