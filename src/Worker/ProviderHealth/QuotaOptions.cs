using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;
using Worker.Providers;

namespace Worker.ProviderHealth;

/// <summary>
/// A daily quota of one provider and model, e.g. <c>Quotas__openai__gpt-4o-mini__RequestsPerDay=10000</c>: what the
/// account allows per UTC day, counted over the whole cluster from the <c>attempts</c> table.
/// </summary>
public sealed class DailyQuotaOptions
{
    /// <summary>Calls allowed per UTC day, up to 1,000,000,000; 0 means no limit.</summary>
    [Range(0d, 1e9)]
    public long RequestsPerDay { get; set; }

    /// <summary>Input plus output tokens (as the providers report them) per UTC day, up to 10^12; 0 means no limit.</summary>
    [Range(0d, 1e12)]
    public long TokensPerDay { get; set; }
}

/// <summary>The <c>Quotas</c> section: provider (case-insensitive), then model (as the chains name it), to its daily quota.</summary>
public sealed class QuotaSection : Dictionary<string, Dictionary<string, DailyQuotaOptions>>
{
    public const string Section = "Quotas";

    public QuotaSection() : base(StringComparer.OrdinalIgnoreCase)
    {
    }

    /// <summary>The quota of a provider and model, if one is set.</summary>
    public DailyQuotaOptions? Of(string provider, string model) =>
        TryGetValue(provider, out var models) && models.TryGetValue(model, out var quota) ? quota : null;
}

/// <summary>
/// Checks the <c>Quotas</c> section at start: every entry names a configured provider (a misspelt one would limit
/// nothing), its numbers are in range, and it holds no unknown setting.
/// </summary>
public sealed class QuotaSectionValidator(IOptions<ProvidersOptions> providers, IConfiguration configuration) : IValidateOptions<QuotaSection>
{
    public ValidateOptionsResult Validate(string? name, QuotaSection section)
    {
        var problems = new OptionProblems();
        var configured = ProvidersOptions.ValidOrNull(providers);

        foreach (var (provider, models) in section)
        {
            var key = $"{QuotaSection.Section}:{provider}";
            problems.Check(configured is null || configured.ContainsKey(provider), key,
                $"is not a configured provider; configured: {string.Join(", ", configured?.Keys.AsEnumerable() ?? [])}", $"{OptionProblems.Env(key)}__*");
            foreach (var (model, quota) in models)
            {
                problems.Annotations(quota, $"{key}:{model}");
            }
        }

        foreach (var provider in configuration.GetSection(QuotaSection.Section).GetChildren())
        {
            foreach (var model in provider.GetChildren())
            {
                problems.Check(model.Value is null, model.Path, "must be a model's section (RequestsPerDay, TokensPerDay), not a value");
                problems.UnknownSettings(model, typeof(DailyQuotaOptions));
            }
        }

        return problems.Result();
    }
}
