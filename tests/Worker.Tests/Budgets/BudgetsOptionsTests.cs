using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Worker.Budgets;
using Worker.Tests.Fakes;

namespace Worker.Tests.Budgets;

/// <summary>Bad budget settings stop the worker at start, each naming the key to fix and its variable.</summary>
public class BudgetsOptionsTests
{
    private static IReadOnlyList<string> Problems(params (string Key, string? Value)[] changes) =>
        StartupChecks.Problems(StartupChecks.ValidWith(changes), (services, _) => services.AddBudgets());

    [Fact]
    public void No_budgets_section_starts_and_leaves_every_tenant_unlimited()
    {
        Assert.Empty(Problems());
        Assert.False(Table().TryGet("acme", out _, out _));
    }

    [Fact]
    public void Budgets_within_bounds_start()
    {
        Assert.Empty(Problems(
            ("Budgets:DefaultDailyUsd", "0.5"),
            ("Budgets:Tenants:acme:DailyUsd", "25"),
            ("Budgets:Tenants:globex:DailyUsd", "0.00000001")));
    }

    [Theory]
    [InlineData("Budgets:Tenants:acme:DailyUsd", "0", "Budgets:Tenants:acme:DailyUsd must be above 0, was 0 (env Budgets__Tenants__acme__DailyUsd)")]
    [InlineData("Budgets:Tenants:acme:DailyUsd", "-3", "Budgets:Tenants:acme:DailyUsd must be above 0, was -3 (env Budgets__Tenants__acme__DailyUsd)")]
    [InlineData("Budgets:DefaultDailyUsd", "0", "Budgets:DefaultDailyUsd must be above 0 or empty (no budget for unlisted tenants), was 0 (env Budgets__DefaultDailyUsd)")]
    public void A_budget_of_zero_or_less_is_refused_naming_the_key(string key, string value, string expected) =>
        Assert.Equal(expected, Assert.Single(Problems((key, value))));

    [Fact]
    public void A_tenant_whose_daily_budget_is_misspelt_is_refused_with_both_problems()
    {
        var problems = Problems(("Budgets:Tenants:acme:DailyUSD_", "5"));

        Assert.Equal(
        [
            "Budgets:Tenants:acme:DailyUsd is required: the tenant's budget in USD per UTC day, e.g. 25 (env Budgets__Tenants__acme__DailyUsd)",
            "Budgets:Tenants:acme:DailyUSD_ is not a setting; known: DailyUsd (env Budgets__Tenants__acme__DailyUSD_)",
        ], problems);
    }

    [Fact]
    public void A_misspelt_tenant_setting_is_reported_instead_of_ignored()
    {
        var problems = Problems(("Budgets:Tenants:acme:DailyUsd", "5"), ("Budgets:Tenants:acme:DailyUSD_", "5"));

        Assert.Equal("Budgets:Tenants:acme:DailyUSD_ is not a setting; known: DailyUsd (env Budgets__Tenants__acme__DailyUSD_)", Assert.Single(problems));
    }

    [Fact]
    public void A_misspelt_section_setting_is_reported_instead_of_ignored()
    {
        var problem = Assert.Single(Problems(("Budgets:DefaultUsd", "5")));

        Assert.Equal("Budgets:DefaultUsd is not a setting; known: DefaultDailyUsd, Tenants (env Budgets__DefaultUsd)", problem);
    }

    [Fact]
    public void A_tenant_name_longer_than_the_column_is_refused()
    {
        var name = new string('t', BudgetsOptions.MaxTenantLength + 1);

        var problem = Assert.Single(Problems(($"Budgets:Tenants:{name}:DailyUsd", "5")));

        Assert.Equal($"Budgets:Tenants:{name} is longer than 128 characters, the most a tenant name may have (env Budgets__Tenants__{name})", problem);
    }

    [Fact]
    public void A_budget_that_is_not_a_number_is_refused_instead_of_the_tenant_being_dropped()
    {
        var problem = Assert.Single(Problems(("Budgets:Tenants:acme:DailyUsd", "25$")));

        Assert.Equal("Budgets:Tenants:acme:DailyUsd must be a number of USD, e.g. 25 or 0.5, was '25$' (env Budgets__Tenants__acme__DailyUsd)", problem);
    }

    [Fact]
    public void A_tenant_given_a_bare_value_is_refused_instead_of_being_dropped()
    {
        var problem = Assert.Single(Problems(("Budgets:Tenants:acme", "25")));

        Assert.Equal("Budgets:Tenants:acme must be a section, e.g. Budgets__Tenants__acme__DailyUsd=25, was a single value (env Budgets__Tenants__acme)", problem);
    }

    [Fact]
    public void A_default_budget_that_is_not_a_number_is_refused_naming_the_key()
    {
        var problem = Assert.Single(Problems(("Budgets:DefaultDailyUsd", "ten")));

        Assert.Contains("'Budgets:DefaultDailyUsd'", problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Every_problem_is_reported_at_once()
    {
        var problems = Problems(("Budgets:DefaultDailyUsd", "-1"), ("Budgets:Tenants:acme:DailyUsd", "0"), ("Budgets:Tenants:globex:Daily", "1"));

        Assert.Equal(4, problems.Count);
    }

    [Fact]
    public void Tenant_names_match_whatever_their_case_and_share_one_row_key()
    {
        var table = Table(("Budgets:Tenants:Acme:DailyUsd", "25"));

        Assert.True(table.TryGet("ACME", out var key, out var daily));
        Assert.Equal(("acme", 25m), (key, daily));
        Assert.True(table.TryGet("acme", out var same, out _));
        Assert.Equal(key, same);
    }

    [Fact]
    public void Unlisted_tenants_get_the_default_budget_and_blank_tenants_none()
    {
        var table = Table(("Budgets:DefaultDailyUsd", "2"), ("Budgets:Tenants:acme:DailyUsd", "25"));

        Assert.True(table.TryGet("Initech", out var key, out var daily));
        Assert.Equal(("initech", 2m), (key, daily));
        Assert.True(table.TryGet("acme", out _, out var listed));
        Assert.Equal(25m, listed);
        Assert.False(table.TryGet(null, out _, out _));
        Assert.False(table.TryGet(" ", out _, out _));
    }

    /// <summary>The table a worker with these settings resolves; the settings must pass validation first.</summary>
    private static BudgetTable Table(params (string Key, string? Value)[] settings)
    {
        Assert.Empty(Problems(settings));
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(StartupChecks.ValidWith(settings)).Build();
        using var provider = new ServiceCollection().AddSingleton<IConfiguration>(configuration).AddBudgets().BuildServiceProvider();
        return provider.GetRequiredService<BudgetTable>();
    }
}
