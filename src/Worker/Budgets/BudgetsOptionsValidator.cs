using System.Globalization;
using Microsoft.Extensions.Options;

namespace Worker.Budgets;

/// <summary>
/// Checks the <c>Budgets</c> section at start; every message names the key to fix. Misspelt keys are reported too: the
/// binder would ignore <c>Budgets__Tenants__acme__DailyUSD_</c> and leave the tenant without the budget meant for it.
/// </summary>
public sealed class BudgetsOptionsValidator(IConfiguration configuration) : IValidateOptions<BudgetsOptions>
{
    private const string Section = BudgetsOptions.Section;

    public ValidateOptionsResult Validate(string? name, BudgetsOptions options)
    {
        var problems = new OptionProblems();
        problems.Check(options.DefaultDailyUsd is null or > 0, $"{Section}:{nameof(BudgetsOptions.DefaultDailyUsd)}",
            $"must be above 0 or empty (no budget for unlisted tenants), was {options.DefaultDailyUsd}");

        foreach (var (tenant, budget) in options.Tenants)
        {
            var key = $"{Section}:{nameof(BudgetsOptions.Tenants)}:{tenant}";
            problems.Check(tenant.Length <= BudgetsOptions.MaxTenantLength, key, $"is longer than {BudgetsOptions.MaxTenantLength} characters, the most a tenant name may have");
            var dailyKey = $"{key}:{nameof(TenantBudgetOptions.DailyUsd)}";
            if (budget?.DailyUsd is not { } daily)
            {
                problems.Add(dailyKey, "is required: the tenant's budget in USD per UTC day, e.g. 25");
            }
            else
            {
                problems.Check(daily > 0, dailyKey, $"must be above 0, was {daily}");
            }
        }

        var section = configuration.GetSection(Section);
        problems.UnknownSettings(section, typeof(BudgetsOptions));
        foreach (var tenant in section.GetSection(nameof(BudgetsOptions.Tenants)).GetChildren())
        {
            problems.UnknownSettings(tenant, typeof(TenantBudgetOptions));
            Unreadable(problems, tenant);
        }

        return problems.Result();
    }

    /// <summary>
    /// The binder drops a tenant whose entry does not convert, without a word: the tenant would silently have no budget.
    /// </summary>
    private static void Unreadable(OptionProblems problems, IConfigurationSection tenant)
    {
        var daily = tenant.GetSection(nameof(TenantBudgetOptions.DailyUsd));
        if (tenant.Value is not null)
        {
            problems.Add(tenant.Path, $"must be a section, e.g. {OptionProblems.Env(daily.Path)}=25, was a single value");
        }
        else if (!string.IsNullOrEmpty(daily.Value) && !decimal.TryParse(daily.Value, NumberStyles.Float, CultureInfo.InvariantCulture, out _))
        {
            problems.Add(daily.Path, $"must be a number of USD, e.g. 25 or 0.5, was '{daily.Value}'");
        }
    }
}
