using Microsoft.Extensions.Options;
using Worker.Audit;
using Worker.Chain;

namespace Worker.LastResort;

/// <summary>
/// Checks the <c>LastResort</c> section at start; every message names the key to fix. A cache needs answers to be kept,
/// so it cannot be enabled with <c>Audit:PromptStorage=None</c>, which promises nothing of a request is stored.
/// </summary>
public sealed class LastResortOptionsValidator(IConfiguration configuration, IOptions<ChainsOptions> chains, IOptions<AuditOptions> audit)
    : IValidateOptions<LastResortOptions>
{
    private const string Section = LastResortOptions.Section;

    /// <summary>The longest TTL or stale limit: a year.</summary>
    public const int MaxSeconds = 365 * 24 * 3600;

    /// <summary>The longest template, in characters.</summary>
    public const int MaxTemplateChars = 8_000;

    public ValidateOptionsResult Validate(string? name, LastResortOptions options)
    {
        var problems = new OptionProblems();
        problems.Check(options.MaxCacheEntries is >= 1 and <= 100_000_000, $"{Section}:{nameof(LastResortOptions.MaxCacheEntries)}",
            $"must be between 1 and 100000000, was {options.MaxCacheEntries}");

        foreach (var (chain, settings) in options.Chains)
        {
            var key = $"{Section}:{nameof(LastResortOptions.Chains)}:{chain}";
            problems.Check(chains.Value.ContainsKey(chain), key,
                $"names no configured chain; configured: {string.Join(", ", chains.Value.Keys)}");
            if (settings is null)
                continue;
            if (settings.Cache is { } cache)
            {
                var cacheKey = $"{key}:{nameof(ChainLastResortOptions.Cache)}";
                problems.Check(cache.TtlSeconds is >= 1 and <= MaxSeconds, $"{cacheKey}:{nameof(ResponseCacheOptions.TtlSeconds)}",
                    $"must be between 1 and {MaxSeconds} seconds, was {cache.TtlSeconds}");
                problems.Check(cache.StaleSeconds is >= 0 and <= MaxSeconds, $"{cacheKey}:{nameof(ResponseCacheOptions.StaleSeconds)}",
                    $"must be between 0 and {MaxSeconds} seconds, was {cache.StaleSeconds}");
                problems.Check(!cache.Enabled || audit.Value.PromptStorage != PromptStorage.None, $"{cacheKey}:{nameof(ResponseCacheOptions.Enabled)}",
                    $"is true but {AuditOptions.Section}:{nameof(AuditOptions.PromptStorage)} is None (env {AuditOptions.Section}__{nameof(AuditOptions.PromptStorage)}), " +
                    "which promises that nothing of a request is kept; a cache keeps answers. Turn one of them off, or store HashOnly");
            }

            if (settings.Template is { } template)
            {
                var templateKey = $"{key}:{nameof(ChainLastResortOptions.Template)}";
                if (string.IsNullOrWhiteSpace(template))
                    problems.Add(templateKey, "is blank; leave it out for no template");
                else if (template.Length > MaxTemplateChars)
                    problems.Add(templateKey, $"has {template.Length} characters; the limit is {MaxTemplateChars}");
                else if (TemplateText.Problem(template) is { } problem)
                    problems.Add(templateKey, problem);
            }
        }

        var section = configuration.GetSection(Section);
        problems.UnknownSettings(section, typeof(LastResortOptions));
        foreach (var chain in section.GetSection(nameof(LastResortOptions.Chains)).GetChildren())
        {
            problems.UnknownSettings(chain, typeof(ChainLastResortOptions));
            problems.UnknownSettings(chain.GetSection(nameof(ChainLastResortOptions.Cache)), typeof(ResponseCacheOptions));
        }

        return problems.Result();
    }
}
