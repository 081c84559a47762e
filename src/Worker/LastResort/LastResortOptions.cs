namespace Worker.LastResort;

/// <summary>
/// The <c>LastResort</c> section: what answers when providers do not, per chain (routes run chains, so a route's chain
/// settings serve it too). Everything is off unless configured.
/// <code>
/// LastResort__MaxCacheEntries=100000
/// LastResort__Chains__default__Cache__Enabled=true
/// LastResort__Chains__default__Template=Thanks {name}, we will get back to you shortly.
/// </code>
/// </summary>
public sealed class LastResortOptions
{
    public const string Section = "LastResort";

    /// <summary>The most entries the shared response cache keeps (all chains together); retention deletes the oldest beyond it.</summary>
    public int MaxCacheEntries { get; set; } = 100_000;

    /// <summary>Chain name to its last-resort settings.</summary>
    public Dictionary<string, ChainLastResortOptions> Chains { get; set; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>The settings of <paramref name="chain"/>, or null when it has none.</summary>
    public ChainLastResortOptions? For(string chain) => Chains.GetValueOrDefault(chain);
}

/// <summary>One chain's response cache and template.</summary>
public sealed class ChainLastResortOptions
{
    /// <summary>The chain's response cache; null (or not enabled): no cache.</summary>
    public ResponseCacheOptions? Cache { get; set; }

    /// <summary>
    /// The answer of last resort, given only to requests with <c>allowDegraded: true</c> when neither a provider nor a
    /// stale cached answer can answer. <c>{key}</c> is replaced by the request's <c>metadata[key]</c>; <c>{{</c> and
    /// <c>}}</c> are literal braces. Null: no template.
    /// </summary>
    public string? Template { get; set; }

    /// <summary>What a placeholder whose key the request's metadata lacks becomes; empty by default.</summary>
    public string TemplateMissingValue { get; set; } = "";

    public bool CacheEnabled => Cache?.Enabled == true;
}

/// <summary>A chain's exact-match response cache.</summary>
public sealed class ResponseCacheOptions
{
    /// <summary>Off by default: answers are PII, and an identical prompt does not always want an identical answer.</summary>
    public bool Enabled { get; set; }

    /// <summary>How long a cached answer is fresh (a hit answers without a call), 1 s to 1 year. 1 hour by default.</summary>
    public int TtlSeconds { get; set; } = 3600;

    /// <summary>
    /// How long after it stopped being fresh an answer may still be given when no provider can answer (stale-if-error),
    /// 0 (never) to 1 year; retention deletes it after. 1 day by default.
    /// </summary>
    public int StaleSeconds { get; set; } = 86_400;
}
