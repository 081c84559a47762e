using Microsoft.Extensions.Options;
using Worker.Budgets;

namespace Worker.Tenants;

/// <summary>
/// Checks the <c>TenantLimits</c> section at start; every message names the key to fix. Misspelt keys and values that
/// do not convert are reported too: the binder would drop them and leave the tenant unlimited without a word.
/// </summary>
public sealed class TenantLimitsOptionsValidator(IConfiguration configuration) : IValidateOptions<TenantLimitsOptions>
{
    private const string Section = TenantLimitsOptions.Section;

    private static readonly TimeSpan MaxRetryAfter = TimeSpan.FromMinutes(1);

    public ValidateOptionsResult Validate(string? name, TenantLimitsOptions options)
    {
        var problems = new OptionProblems();
        problems.Check(options.DefaultMaxConcurrency is null or > 0, $"{Section}:{nameof(TenantLimitsOptions.DefaultMaxConcurrency)}",
            $"must be at least 1 or empty (no limit for unlisted tenants), was {options.DefaultMaxConcurrency}");
        problems.Duration($"{Section}:{nameof(TenantLimitsOptions.RetryAfter)}", options.RetryAfter, TimeSpan.FromMilliseconds(100), MaxRetryAfter);
        problems.Duration($"{Section}:{nameof(TenantLimitsOptions.RetryJitter)}", options.RetryJitter, TimeSpan.Zero, MaxRetryAfter);

        foreach (var (tenant, limit) in options.Tenants)
        {
            var key = $"{Section}:{nameof(TenantLimitsOptions.Tenants)}:{tenant}";
            problems.Check(tenant.Length <= BudgetsOptions.MaxTenantLength, key, $"is longer than {BudgetsOptions.MaxTenantLength} characters, the most a tenant name may have");
            var maxKey = $"{key}:{nameof(TenantLimitOptions.MaxConcurrency)}";
            if (limit?.MaxConcurrency is not { } max)
            {
                problems.Add(maxKey, "is required: how many of the tenant's requests may run at once across the cluster, e.g. 8");
            }
            else
            {
                problems.Check(max > 0, maxKey, $"must be at least 1, was {max}");
            }
        }

        var section = configuration.GetSection(Section);
        problems.UnknownSettings(section, typeof(TenantLimitsOptions));
        Whole(problems, section.GetSection(nameof(TenantLimitsOptions.DefaultMaxConcurrency)));
        foreach (var tenant in section.GetSection(nameof(TenantLimitsOptions.Tenants)).GetChildren())
        {
            problems.UnknownSettings(tenant, typeof(TenantLimitOptions));
            var max = tenant.GetSection(nameof(TenantLimitOptions.MaxConcurrency));
            if (tenant.Value is not null)
            {
                problems.Add(tenant.Path, $"must be a section, e.g. {OptionProblems.Env(max.Path)}=8, was a single value");
            }
            else
            {
                Whole(problems, max);
            }
        }

        return problems.Result();
    }

    private static void Whole(OptionProblems problems, IConfigurationSection setting)
    {
        if (!string.IsNullOrEmpty(setting.Value) && !int.TryParse(setting.Value, out _))
        {
            problems.Add(setting.Path, $"must be a whole number, e.g. 8, was '{setting.Value}'");
        }
    }
}
