using Worker.Chain;
using Worker.Providers;
using Worker.Tests.Fakes;

namespace Worker.Tests.Chain;

/// <summary>Bad retry policies and chain actions stop the worker at start, each naming the key to fix.</summary>
public class RetryOptionsTests
{
    private static IReadOnlyList<string> Problems(params (string Key, string? Value)[] changes) =>
        StartupChecks.Problems(StartupChecks.ValidWith(changes), (services, _) => services.AddProviders().AddChains());

    [Fact]
    public void Policies_within_every_bound_start()
    {
        Assert.Empty(Problems(
            ("Retry:rate_limit:MaxRetries", "10"),
            ("Retry:rate_limit:Factor", "1"),
            ("Retry:SERVER:BaseDelay", "00:00:30"),
            ("Retry:network:JitterRatio", "0"),
            ("Retry:timeout:MaxDelay", "01:00:00"),
            ("ChainPolicies:default:Retry:server:MaxDelay", "00:01:00"),
            ("ChainPolicies:default:Actions:server", "fallback"),
            ("ChainPolicies:default:Actions:invalid_request", "FallBack"),
            ("ChainPolicies:default:Actions:bad_output", "Retry"),
            ("Chains:default:1:Retry:network:MaxRetries", "0")));
    }

    [Theory]
    [InlineData("Retry:server:Factor", "0.5", "Retry:server:Factor must be between 1 and 10, was 0.5 (env Retry__server__Factor)")]
    [InlineData("Retry:server:MaxRetries", "11", "Retry:server:MaxRetries must be between 0 and 10, was 11 (env Retry__server__MaxRetries)")]
    [InlineData("Retry:network:MaxDelay", "60", "Retry:network:MaxDelay must be between 00:00:00 and 01:00:00, was 60.00:00:00: a bare number is read as days, did you mean 00:01:00? (env Retry__network__MaxDelay)")]
    [InlineData("Retry:rate_limit:JitterRatio", "2", "Retry:rate_limit:JitterRatio must be between 0 and 1, was 2 (env Retry__rate_limit__JitterRatio)")]
    [InlineData("Retry:server:BaseDelay", "00:01:00", "Retry:server:BaseDelay must not be above MaxDelay (00:00:30), was 00:01:00 (env Retry__server__BaseDelay)")]
    [InlineData("Retry:rate_limit:MaxDelay", "00:00:01", "Retry:rate_limit:MaxDelay must not be below BaseDelay (00:00:05), was 00:00:01 (env Retry__rate_limit__MaxDelay)")]
    [InlineData("Retry:rate_limited:MaxRetries", "1", "Retry:rate_limited is not an error class; known: rate_limit, server, network, timeout, auth, invalid_request, content_blocked, bad_output (env Retry__rate_limited)")]
    [InlineData("Retry:server:Retries", "1", "Retry:server:Retries is not a setting; known: MaxRetries, BaseDelay, MaxDelay, Factor, JitterRatio (env Retry__server__Retries)")]
    [InlineData("ChainPolicies:fats:Actions:server", "FallBack", "ChainPolicies:fats is not a configured chain; configured: default (env ChainPolicies__fats)")]
    [InlineData("ChainPolicies:default:Actions:server", "GiveUp", "ChainPolicies:default:Actions:server must be one of Retry, RetryOnce, FallBack, FailRequest, was 'GiveUp' (env ChainPolicies__default__Actions__server)")]
    [InlineData("ChainPolicies:default:Actions:server", "2", "ChainPolicies:default:Actions:server must be one of Retry, RetryOnce, FallBack, FailRequest, was '2' (env ChainPolicies__default__Actions__server)")]
    [InlineData("ChainPolicies:default:Actions:auth", "FailRequest", "ChainPolicies:default:Actions:auth may be FailRequest only for invalid_request (env ChainPolicies__default__Actions__auth)")]
    [InlineData("ChainPolicies:default:Actions:servr", "Retry", "ChainPolicies:default:Actions:servr is not an error class; known: rate_limit, server, network, timeout, auth, invalid_request, content_blocked, bad_output (env ChainPolicies__default__Actions__servr)")]
    [InlineData("ChainPolicies:default:Retry:server:Factor", "0", "ChainPolicies:default:Retry:server:Factor must be between 1 and 10, was 0 (env ChainPolicies__default__Retry__server__Factor)")]
    [InlineData("ChainPolicies:default:Retry:server:MaxDelay", "00:00:01", "ChainPolicies:default:Retry:server:MaxDelay must not be below BaseDelay (00:00:02), was 00:00:01 (env ChainPolicies__default__Retry__server__MaxDelay)")]
    [InlineData("ChainPolicies:default:MaxRetries", "1", "ChainPolicies:default:MaxRetries is not a setting; known: Retry, Actions (env ChainPolicies__default__MaxRetries)")]
    [InlineData("Chains:default:0:Retry:network:BaseDelay", "00:02:00", "Chains:default:0:Retry:network:BaseDelay must not be above MaxDelay (00:01:00), was 00:02:00 (env Chains__default__0__Retry__network__BaseDelay)")]
    [InlineData("Chains:default:0:Retry:network:Factr", "3", "Chains:default:0:Retry:network:Factr is not a setting; known: MaxRetries, BaseDelay, MaxDelay, Factor, JitterRatio (env Chains__default__0__Retry__network__Factr)")]
    [InlineData("Chains:default:0:Retry:nework:Factor", "3", "Chains:default:0:Retry:nework is not an error class; known: rate_limit, server, network, timeout, auth, invalid_request, content_blocked, bad_output (env Chains__default__0__Retry__nework)")]
    public void A_bad_policy_is_refused_naming_the_key_and_the_variable(string key, string value, string expected) =>
        Assert.Equal(expected, Assert.Single(Problems((key, value))));

    [Fact]
    public void A_chain_override_is_checked_against_the_retry_section_below_it()
    {
        var problem = Assert.Single(Problems(("Retry:server:MaxDelay", "00:00:10"), ("ChainPolicies:default:Retry:server:BaseDelay", "00:00:20")));

        Assert.Equal("ChainPolicies:default:Retry:server:BaseDelay must not be above MaxDelay (00:00:10), was 00:00:20 (env ChainPolicies__default__Retry__server__BaseDelay)", problem);
    }

    [Fact]
    public void A_step_with_step_wide_settings_refuses_per_class_ones()
    {
        var problem = Assert.Single(Problems(("Chains:default:0:MaxRetries", "2"), ("Chains:default:0:Retry:server:MaxRetries", "3")));

        Assert.Equal("Chains:default:0:Retry cannot be combined with MaxRetries, BaseDelay, MaxDelay or JitterRatio, which set one policy for every class on the step (env Chains__default__0__Retry)", problem);
    }

    [Fact]
    public void A_step_wide_base_delay_above_its_default_max_delay_is_refused()
    {
        var problem = Assert.Single(Problems(("Chains:default:0:BaseDelay", "00:00:40")));

        Assert.Equal("Chains:default:0:BaseDelay must not be above MaxDelay (00:00:30), was 00:00:40 (env Chains__default__0__BaseDelay)", problem);
    }

    [Fact]
    public void Every_default_policy_is_within_its_own_bounds()
    {
        Assert.All(Enum.GetValues<ErrorClass>().Select(RetryPolicy.DefaultFor), p => Assert.True(p.BaseDelay <= p.MaxDelay && p.Factor >= 1));
        Assert.Equal(new RetryPolicy(2, TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(120), 3, 0.2), RetryPolicy.DefaultFor(ErrorClass.RateLimited));
    }
}
