using Worker.Tenants;
using Worker.Tests.Fakes;

namespace Worker.Tests.Tenants;

/// <summary>Bad tenant limit settings stop the worker at start, each naming the key to fix and its variable.</summary>
public sealed class TenantLimitsOptionsTests
{
    private static IReadOnlyList<string> Problems(params (string Key, string? Value)[] changes) =>
        StartupChecks.Problems(StartupChecks.ValidWith(changes), (services, _) => services.AddTenantLimits());

    [Fact]
    public void No_section_starts_with_every_tenant_unlimited()
    {
        Assert.Empty(Problems());
        var options = new TenantLimitsOptions();
        Assert.Equal((null, 0, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1)),
            (options.DefaultMaxConcurrency, options.Tenants.Count, options.RetryAfter, options.RetryJitter));
    }

    [Fact]
    public void Limits_within_bounds_start()
    {
        Assert.Empty(Problems(
            ("TenantLimits:DefaultMaxConcurrency", "4"),
            ("TenantLimits:Tenants:acme:MaxConcurrency", "16"),
            ("TenantLimits:Tenants:globex:MaxConcurrency", "1"),
            ("TenantLimits:RetryAfter", "00:00:02"),
            ("TenantLimits:RetryJitter", "00:00:00")));
    }

    [Theory]
    [InlineData("TenantLimits:Tenants:acme:MaxConcurrency", "0",
        "TenantLimits:Tenants:acme:MaxConcurrency must be at least 1, was 0 (env TenantLimits__Tenants__acme__MaxConcurrency)")]
    [InlineData("TenantLimits:DefaultMaxConcurrency", "-2",
        "TenantLimits:DefaultMaxConcurrency must be at least 1 or empty (no limit for unlisted tenants), was -2 (env TenantLimits__DefaultMaxConcurrency)")]
    [InlineData("TenantLimits:RetryAfter", "00:00:00.050",
        "TenantLimits:RetryAfter must be between 00:00:00.1 and 00:01:00, was 00:00:00.05 (env TenantLimits__RetryAfter)")]
    [InlineData("TenantLimits:RetryJitter", "00:05:00",
        "TenantLimits:RetryJitter must be between 00:00:00 and 00:01:00, was 00:05:00 (env TenantLimits__RetryJitter)")]
    [InlineData("TenantLimits:Tenants:acme:MaxConcurrency", "eight",
        "TenantLimits:Tenants:acme:MaxConcurrency must be a whole number, e.g. 8, was 'eight' (env TenantLimits__Tenants__acme__MaxConcurrency)")]
    public void A_bad_value_is_refused_naming_the_key(string key, string value, string expected) =>
        Assert.Contains(expected, Problems((key, value)));

    [Fact]
    public void A_misspelt_setting_is_reported_instead_of_ignored()
    {
        var problems = Problems(("TenantLimits:Tenants:acme:MaxConcurency", "8"), ("TenantLimits:DefaultMax", "2"));

        Assert.Contains("TenantLimits:Tenants:acme:MaxConcurrency is required: how many of the tenant's requests may run at once across the cluster, e.g. 8 (env TenantLimits__Tenants__acme__MaxConcurrency)", problems);
        Assert.Contains("TenantLimits:Tenants:acme:MaxConcurency is not a setting; known: MaxConcurrency (env TenantLimits__Tenants__acme__MaxConcurency)", problems);
        Assert.Contains(problems, p => p.StartsWith("TenantLimits:DefaultMax is not a setting; known: DefaultMaxConcurrency, Tenants, RetryAfter, RetryJitter", StringComparison.Ordinal));
    }

    [Fact]
    public void A_default_that_is_not_a_number_is_refused_naming_the_key()
    {
        var problems = Problems(("TenantLimits:DefaultMaxConcurrency", "many"));

        Assert.Contains(problems, p => p.Contains("TenantLimits:DefaultMaxConcurrency", StringComparison.Ordinal));
    }

    [Fact]
    public void A_tenant_given_a_single_value_instead_of_a_section_is_refused()
    {
        var problems = Problems(("TenantLimits:Tenants:acme", "8"));

        Assert.Contains("TenantLimits:Tenants:acme must be a section, e.g. TenantLimits__Tenants__acme__MaxConcurrency=8, was a single value (env TenantLimits__Tenants__acme)", problems);
    }
}
