namespace Worker.Persistence;

/// <summary>
/// One cached answer (table <c>response_cache</c>), shared by every instance. Keyed by a SHA-256 of the request's
/// messages, chain and generation parameters: the prompt itself is never kept here, only the answer and who gave it.
/// </summary>
public sealed class ResponseCacheRow
{
    /// <summary>Lower-case hex SHA-256 of the canonical request (LastResort's CacheKey).</summary>
    public string Key { get; set; } = "";

    public string Chain { get; set; } = "";

    public string Text { get; set; } = "";

    public string Provider { get; set; } = "";

    public string Model { get; set; } = "";

    public int? InputTokens { get; set; }

    public int? OutputTokens { get; set; }

    /// <summary>When a provider gave the answer (PostgreSQL's clock); a refresh moves it.</summary>
    public DateTimeOffset CreatedAt { get; set; }

    /// <summary>Fresh until then: a hit answers without a call.</summary>
    public DateTimeOffset ExpiresAt { get; set; }

    /// <summary>Until then a stale entry may still answer when no provider can (stale-if-error); retention deletes it after.</summary>
    public DateTimeOffset StaleUntil { get; set; }
}
