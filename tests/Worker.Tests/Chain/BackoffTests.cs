using Worker.Chain;
using Worker.Providers;

namespace Worker.Tests.Chain;

public class BackoffTests
{
    private static readonly ChainStep Step = new(0, "p", "m", 5, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(6),
        JitterRatio: 0.2, MaxRetryAfter: TimeSpan.FromSeconds(30), TimeSpan.FromSeconds(10));

    /// <summary>A step built as before per-class policies: its settings, doubling, for every class.</summary>
    private static readonly RetryPolicy Policy = Step.PolicyFor(ErrorClass.Server);

    [Theory]
    [InlineData(1, 1.0)]
    [InlineData(2, 2.0)]
    [InlineData(3, 4.0)]
    [InlineData(4, 6.0)] // 8 s capped at MaxDelay
    public void Doubles_per_retry_up_to_the_cap(int retry, double expectedSeconds) =>
        Assert.Equal(TimeSpan.FromSeconds(expectedSeconds), Backoff.Delay(Policy, retry, null, random: 0.5));

    [Fact]
    public void Jitter_spreads_delays_symmetrically_within_the_ratio()
    {
        Assert.Equal(TimeSpan.FromSeconds(0.8), Backoff.Delay(Policy, 1, null, random: 0.0));
        Assert.Equal(TimeSpan.FromSeconds(1.2), Backoff.Delay(Policy, 1, null, random: 1.0));
    }

    [Fact]
    public void Jitter_never_pushes_past_the_cap() =>
        Assert.Equal(TimeSpan.FromSeconds(6), Backoff.Delay(Policy, 10, null, random: 1.0));

    [Theory]
    [InlineData(1, 5.0)]
    [InlineData(2, 15.0)]
    [InlineData(3, 45.0)]
    [InlineData(4, 120.0)] // 135 s capped at MaxDelay
    public void A_factor_of_three_triples_per_retry_up_to_the_cap(int retry, double expectedSeconds) =>
        Assert.Equal(TimeSpan.FromSeconds(expectedSeconds),
            Backoff.Delay(new RetryPolicy(2, TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(120), Factor: 3, JitterRatio: 0.2), retry, null, random: 0.5));

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(5)]
    public void A_factor_of_one_keeps_delays_fixed(int retry) =>
        Assert.Equal(TimeSpan.FromSeconds(5),
            Backoff.Delay(new RetryPolicy(2, TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(120), Factor: 1, JitterRatio: 0.2), retry, null, random: 0.5));

    [Fact]
    public void A_large_factor_and_retry_stay_at_the_cap_instead_of_overflowing() =>
        Assert.Equal(TimeSpan.FromHours(1),
            Backoff.Delay(new RetryPolicy(10, TimeSpan.FromHours(1), TimeSpan.FromHours(1), Factor: 10, JitterRatio: 0.2), 10, null, random: 0.9));

    [Fact]
    public void Retry_after_wins_and_is_never_shortened()
    {
        Assert.Equal(TimeSpan.FromSeconds(20), Backoff.Delay(Policy, 1, TimeSpan.FromSeconds(20), random: 0.0));
        Assert.Equal(TimeSpan.FromSeconds(24), Backoff.Delay(Policy, 1, TimeSpan.FromSeconds(20), random: 1.0));
    }
}

public class ErrorPolicyTests
{
    [Theory]
    [InlineData(ErrorClass.RateLimited, FailureAction.Retry)]
    [InlineData(ErrorClass.Server, FailureAction.Retry)]
    [InlineData(ErrorClass.Network, FailureAction.Retry)]
    [InlineData(ErrorClass.Timeout, FailureAction.FallBack)]
    [InlineData(ErrorClass.Auth, FailureAction.FallBack)]
    [InlineData(ErrorClass.ContentBlocked, FailureAction.FallBack)]
    [InlineData(ErrorClass.BadOutput, FailureAction.RetryOnce)]
    [InlineData(ErrorClass.InvalidRequest, FailureAction.FailRequest)]
    public void Every_class_has_its_documented_action(ErrorClass errorClass, FailureAction expected) =>
        Assert.Equal(expected, ErrorPolicy.ActionFor(errorClass));

    [Fact]
    public void Every_class_has_a_distinct_wire_name() =>
        Assert.Equal(Enum.GetValues<ErrorClass>().Length, Enum.GetValues<ErrorClass>().Select(c => c.ToWireName()).Distinct().Count());
}
