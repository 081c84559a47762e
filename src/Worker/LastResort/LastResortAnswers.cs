using Microsoft.Extensions.Options;
using Npgsql;
using Worker.Chain;
using Worker.Contracts;
using Worker.Providers;

namespace Worker.LastResort;

/// <summary>An answer given because no provider could give one: a stale cached answer or the chain's template.</summary>
/// <param name="Source"><see cref="ResultSources.Cache"/> or <see cref="ResultSources.Template"/>.</param>
/// <param name="AgeSeconds">The cached answer's age; null for a template.</param>
public sealed record DegradedAnswer(string Source, string Text, string Provider, string Model, int? InputTokens, int? OutputTokens, double? AgeSeconds);

/// <summary>
/// The last-resort level of a chain: its response cache (a fresh hit answers before any call; a provider's answer is
/// stored after) and, when no provider can answer, a stale cached answer or its template. What the consumer asks, in
/// the order it asks; the consumer decides when (docs/chain.md, "The last resort").
/// </summary>
public sealed class LastResortAnswers(ResponseCache cache, IOptions<LastResortOptions> options, TimeProvider time, ILogger<LastResortAnswers> logger)
{
    /// <summary>The provider name on the attempt row of a cache hit or a stale answer, and of a template answer.</summary>
    public const string CacheRow = ResultSources.Cache, TemplateRow = ResultSources.Template;

    /// <summary>The step index of the attempt row a last resort writes: no step of the chain, so no provider's figures count it.</summary>
    public const int NoStep = -1;

    /// <summary>
    /// Whether the request may use <paramref name="chain"/>'s cache: the chain has one, the request did not opt out, and it
    /// offers no tools (a cached answer keeps text only, and a tool call is an action to run, not an answer to reuse).
    /// </summary>
    public bool UsesCache(CompletionRequested request, string chain, out ResponseCacheOptions settings)
    {
        settings = options.Value.For(chain)?.Cache!;
        return settings is { Enabled: true } && request.Cache?.Use != false && !Structured.OutputCheck.OffersTools(request);
    }

    /// <summary>A fresh cached answer for the request, or null (no cache, opted out, a miss, or the cache unreadable).</summary>
    public async Task<CachedAnswer?> FreshAsync(CompletionRequested request, string chain, CancellationToken cancellationToken)
    {
        if (!UsesCache(request, chain, out _))
            return null;
        var hit = await FindAsync(request, chain, staleAllowed: false, cancellationToken);
        if (hit is not null)
            Log.CacheHit(logger, request.RequestId, chain, hit.AgeSeconds);
        return hit;
    }

    /// <summary>
    /// Stores a provider's answer in the chain's cache (one upsert), when the request uses it. Best effort: the answer is
    /// already stored and published, and a cache that cannot be written only means the next identical request calls a provider.
    /// </summary>
    public async Task RememberAsync(CompletionRequested request, string chain, ChainOutcome outcome, CancellationToken cancellationToken)
    {
        if (outcome.Answer is not { } answer || outcome.AnsweredBy is not { } step || !UsesCache(request, chain, out var settings))
            return;
        try
        {
            await cache.StoreAsync(CacheKey.Of(request, chain), chain, answer.Text, step.Provider, step.Model, answer.InputTokens, answer.OutputTokens,
                settings, cancellationToken);
        }
        catch (Exception e) when (e is NpgsqlException or TimeoutException or InvalidOperationException)
        {
            Log.CacheNotWritten(logger, request.RequestId, chain, e.Message);
        }
    }

    /// <summary>
    /// What answers when no provider can: the chain's cached answer within its stale limit (for a request that uses the
    /// cache), else, for a request with <c>allowDegraded</c> that asks for prose (no tools, no JSON), the chain's template
    /// filled from its metadata; else null.
    /// </summary>
    public async Task<DegradedAnswer?> DegradedAsync(CompletionRequested request, string chain, CancellationToken cancellationToken)
    {
        if (UsesCache(request, chain, out _) && await FindAsync(request, chain, staleAllowed: true, cancellationToken) is { } stale)
        {
            Log.StaleAnswer(logger, request.RequestId, chain, stale.AgeSeconds);
            return new DegradedAnswer(ResultSources.Cache, stale.Text, stale.Provider, stale.Model, stale.InputTokens, stale.OutputTokens, stale.AgeSeconds);
        }

        // A template is prose: it cannot stand in for tool calls or for JSON a backend will parse.
        if (request.AllowDegraded && request.ResponseFormat?.Type is null or ResponseFormatTypes.Text && !Structured.OutputCheck.OffersTools(request)
            && options.Value.For(chain) is { Template: { } template } settings)
        {
            Log.TemplateAnswer(logger, request.RequestId, chain);
            return new DegradedAnswer(ResultSources.Template, TemplateText.Fill(template, request.Metadata, settings.TemplateMissingValue),
                TemplateRow, TemplateRow, null, null, null);
        }

        return null;
    }

    /// <summary>The outcome of a fresh cache hit: the cached answer, no call, one row that says where it came from.</summary>
    public ChainOutcome HitOutcome(CachedAnswer hit)
    {
        var now = time.GetUtcNow();
        var record = new AttemptRecord(NoStep, CacheRow, hit.Model, 0, now, now, CallMade: false, null, null, null, Decision.CacheHit, null,
            null, null, null, $"cache hit: answered by {hit.Provider}/{hit.Model} {hit.AgeSeconds:0} s ago");
        var step = new ChainStep(0, hit.Provider, hit.Model, 0, TimeSpan.Zero, TimeSpan.Zero, 0, TimeSpan.Zero, TimeSpan.Zero);
        return new ChainOutcome(new ProviderSuccess(hit.Text, hit.Model, hit.InputTokens, hit.OutputTokens, null), step, null, null, [record]);
    }

    /// <summary>
    /// The outcome of a run no provider answered (failed, or deferred because every provider is down) that a last resort
    /// answered instead: a failure (<c>providers_exhausted</c>), so that the request is parked and a replay may bring the
    /// real answer, with the run's records (less a deferral that did not happen) and one row for the degraded answer.
    /// </summary>
    public ChainOutcome DegradedOutcome(ChainOutcome run, DegradedAnswer answer)
    {
        var now = time.GetUtcNow();
        var records = run.Attempts.ToList();
        var error = run.Error;
        if (run.Deferral is { } deferral)
        {
            if (records is [.., { Decision: Decision.Deferred, CallMade: false }])
                records.RemoveAt(records.Count - 1);
            error = $"No provider could answer: {deferral.Reason}.";
        }

        var note = answer.Source == ResultSources.Cache
            ? $"degraded: stale cached answer of {answer.Provider}/{answer.Model}, {answer.AgeSeconds:0} s old; parked"
            : "degraded: the chain's template; parked";
        records.Add(new AttemptRecord(NoStep, answer.Source == ResultSources.Cache ? CacheRow : TemplateRow, answer.Model, 0, now, now,
            CallMade: false, null, null, null, Decision.Degraded, null, null, null, null, note));
        return run with
        {
            Answer = null,
            AnsweredBy = null,
            FailureReason = FailureReasons.ProvidersExhausted,
            Error = error,
            Attempts = records,
            Deferral = null,
        };
    }

    private async Task<CachedAnswer?> FindAsync(CompletionRequested request, string chain, bool staleAllowed, CancellationToken cancellationToken)
    {
        try
        {
            return await cache.FindAsync(CacheKey.Of(request, chain), staleAllowed, request.Cache?.MaxAgeSeconds, cancellationToken);
        }
        catch (Exception e) when (e is NpgsqlException or TimeoutException)
        {
            // A cache that cannot be read is a miss: the providers answer as if there were no cache.
            Log.CacheNotRead(logger, request.RequestId, chain, e.Message);
            return null;
        }
    }
}
