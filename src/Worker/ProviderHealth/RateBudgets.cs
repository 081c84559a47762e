using Microsoft.Extensions.Options;

namespace Worker.ProviderHealth;

/// <summary>What the pacer says about a call that is about to be made.</summary>
/// <param name="Wait">When refused: how long until the budget has room.</param>
/// <param name="WorthWaiting">When refused: the wait is within the provider's MaxWait, so wait rather than move on.</param>
public readonly record struct PaceDecision(bool Allowed, TimeSpan Wait, bool WorthWaiting, string? Reason)
{
    public static PaceDecision Go => new(true, TimeSpan.Zero, false, null);
}

/// <summary>
/// Per-provider request and token budgets over a rolling minute, enforced before calling, so the chain moves on
/// instead of collecting 429s; and how many calls a provider that answered 429 may have in flight
/// (<see cref="Concurrency"/>). A 429 paces, it does not eject: it shrinks that limit, and only a Retry-After longer
/// than <see cref="SpentQuotaRetryAfter"/> (a spent quota, not a burst) closes the provider's budget until then.
/// The configured budgets are the cluster's: each instance allows its share (<see cref="LiveInstances.Share(int)"/>).
/// </summary>
public sealed class RateBudgets(IOptions<PacingSection> options, TimeProvider time, LiveInstances? instances = null, QuotaTracker? quotas = null)
{
    private readonly LiveInstances _instances = instances ?? new LiveInstances();

    /// <summary>A 429 asking for a longer wait than this says the quota is spent: nobody calls until then.</summary>
    public static readonly TimeSpan SpentQuotaRetryAfter = TimeSpan.FromSeconds(30);

    private static readonly TimeSpan Window = TimeSpan.FromMinutes(1);
    private readonly Dictionary<string, Budget> _budgets = new(StringComparer.OrdinalIgnoreCase);
    private readonly Lock _gate = new();

    /// <summary>The in-flight limit each provider's 429s have taught this instance.</summary>
    public AdaptiveConcurrency Concurrency { get; } = new(time);

    /// <summary>
    /// The quota readings the chain hands over after each call (the runner reaches provider health through this class);
    /// a private one when none is given, as in tests that do not look at quotas.
    /// </summary>
    public QuotaTracker Quotas { get; } = quotas ?? new QuotaTracker(Microsoft.Extensions.Options.Options.Create(new QuotaSection()), time);

    /// <summary>This instance's share of the provider's requests per minute; 0 means no limit.</summary>
    public int RequestsPerMinuteHere(string provider) =>
        options.Value.TryGetValue(provider, out var limits) ? _instances.Share(limits.RequestsPerMinute) : 0;

    /// <summary>Reserves one call and its estimated tokens, or says how long until there is room.</summary>
    public PaceDecision TryAcquire(string provider, int estimatedTokens)
    {
        options.Value.TryGetValue(provider, out var limits);
        var now = time.GetUtcNow();
        lock (_gate)
        {
            var budget = BudgetFor(provider);
            budget.Expire(now - Window);

            if (budget.ClosedUntil > now)
            {
                return Refuse(limits, budget.ClosedUntil - now, $"pacing: {provider} answered 429 (quota spent), closed until {budget.ClosedUntil:HH:mm:ss.fff}");
            }

            if (limits is null || (limits.RequestsPerMinute == 0 && limits.TokensPerMinute == 0))
            {
                budget.Add(now, estimatedTokens);
                return PaceDecision.Go;
            }

            var requests = _instances.Share(limits.RequestsPerMinute);
            if (requests > 0 && budget.Calls.Count >= requests)
            {
                return Refuse(limits, budget.Calls.Peek().At + Window - now, $"pacing: {provider} at {requests} requests/min{Shared(limits.RequestsPerMinute)}");
            }

            var tokens = _instances.Share(limits.TokensPerMinute);
            if (tokens > 0 && budget.Tokens + estimatedTokens > tokens && budget.Calls.Count > 0)
            {
                return Refuse(limits, budget.Calls.Peek().At + Window - now, $"pacing: {provider} at {tokens} tokens/min{Shared(limits.TokensPerMinute)}");
            }

            budget.Add(now, estimatedTokens);
            return PaceDecision.Go;
        }
    }

    /// <summary>
    /// A 429 from the provider. With a Retry-After over <see cref="SpentQuotaRetryAfter"/>: no calls until it has passed.
    /// A shorter one (or none) is the caller's own wait; the provider's in-flight limit takes care of the others.
    /// </summary>
    public void Throttled(string provider, TimeSpan? retryAfter)
    {
        if (retryAfter is not { } wait || wait <= SpentQuotaRetryAfter)
            return;
        var until = time.GetUtcNow() + wait;
        lock (_gate)
        {
            var budget = BudgetFor(provider);
            if (until > budget.ClosedUntil)
            {
                budget.ClosedUntil = until;
            }
        }
    }

    /// <summary>Calls made in the last minute, for the ops view.</summary>
    public int CallsInLastMinute(string provider)
    {
        lock (_gate)
        {
            var budget = BudgetFor(provider);
            budget.Expire(time.GetUtcNow() - Window);
            return budget.Calls.Count;
        }
    }

    private string Shared(int configured) => _instances.Count > 1 ? $" (its share of {configured} among {_instances.Count} instances)" : "";

    private static PaceDecision Refuse(PacingOptions? limits, TimeSpan wait, string reason) =>
        new(false, wait, limits is not null && wait <= limits.MaxWait, reason);

    private Budget BudgetFor(string provider)
    {
        if (!_budgets.TryGetValue(provider, out var budget))
        {
            _budgets[provider] = budget = new Budget();
        }

        return budget;
    }

    private sealed class Budget
    {
        public Queue<(DateTimeOffset At, int Tokens)> Calls { get; } = new();

        public long Tokens { get; private set; }

        public DateTimeOffset ClosedUntil { get; set; }

        public void Add(DateTimeOffset at, int tokens)
        {
            Calls.Enqueue((at, tokens));
            Tokens += tokens;
        }

        public void Expire(DateTimeOffset before)
        {
            while (Calls.Count > 0 && Calls.Peek().At <= before)
            {
                Tokens -= Calls.Dequeue().Tokens;
            }
        }
    }
}
