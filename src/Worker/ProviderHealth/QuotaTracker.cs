using System.Collections.Concurrent;
using Microsoft.Extensions.Options;
using Worker.Providers;

namespace Worker.ProviderHealth;

/// <summary>What the audit trail counted for one provider and model today.</summary>
public readonly record struct DailyUsage(ProviderModel Pair, long Requests, long Tokens);

/// <summary>
/// Keeps, in memory, the latest rate-limit headers of each provider and model and today's use of their daily quotas, and
/// answers <see cref="IQuotaView"/> from them. The chain hands it every call's result (<see cref="Record"/>, a lock held
/// for a few assignments, no I/O); <see cref="DailyQuotaCounter"/> replaces the daily counts with the cluster's from the
/// audit trail every ProviderHealth:QuotaRefreshInterval, and this instance's own calls are added in between.
/// </summary>
public sealed class QuotaTracker(IOptions<QuotaSection> quotas, TimeProvider time) : IQuotaView
{
    // Provider names ignore case, as in the Providers and Quotas sections; model names do not.
    private readonly ConcurrentDictionary<ProviderModel, PairState> _pairs = new(PairComparer.Instance);

    /// <summary>
    /// A call of the chain: keeps its headers if newer than the last, and counts it against the daily quota until the
    /// next count of the audit trail (which holds the chain's calls) replaces the figure.
    /// </summary>
    public void Record(string provider, string model, ProviderResult result)
    {
        if (result.Quota is { } reading)
            Saw(provider, model, reading);
        if (quotas.Value.Of(provider, model) is null)
            return;
        var state = State(new ProviderModel(provider, model));
        var today = Day(time.GetUtcNow());
        var tokens = result is ProviderSuccess s ? (long)(s.InputTokens ?? 0) + (s.OutputTokens ?? 0) : 0;
        lock (state)
        {
            state.RollOver(today);
            state.Requests++;
            state.Tokens += tokens;
        }
    }

    /// <summary>Headers read outside the chain (a ping): kept if newer than the last, not counted as a call of the audit trail.</summary>
    public void Saw(string provider, string model, QuotaReading reading)
    {
        var state = State(new ProviderModel(provider, model));
        lock (state)
        {
            if (state.Reading is null || reading.At >= state.Reading.At)
                state.Reading = reading;
        }
    }

    /// <summary>Today's counts from the audit trail, taken at <paramref name="countedAt"/>; pairs not listed made no call today.</summary>
    public void Refreshed(IReadOnlyList<DailyUsage> usage, DateTimeOffset countedAt)
    {
        var today = Day(countedAt);
        foreach (var pair in ConfiguredPairs())
        {
            var found = usage.FirstOrDefault(u => PairComparer.Instance.Equals(u.Pair, pair));
            var state = State(pair);
            lock (state)
            {
                state.Day = today;
                state.Requests = found.Requests;
                state.Tokens = found.Tokens;
                state.CountedAt = countedAt;
            }
        }
    }

    /// <summary>Every provider and model with a daily limit set.</summary>
    public IReadOnlyList<ProviderModel> ConfiguredPairs() =>
    [
        .. from provider in quotas.Value
           from model in provider.Value
           where model.Value.RequestsPerDay > 0 || model.Value.TokensPerDay > 0
           select new ProviderModel(provider.Key, model.Key),
    ];

    public QuotaStatus StatusOf(string provider, string model)
    {
        var now = time.GetUtcNow();
        var quota = quotas.Value.Of(provider, model);
        QuotaReading? reading = null;
        DailyQuotaStatus? daily = null;
        if (_pairs.TryGetValue(new ProviderModel(provider, model), out var state) || quota is not null)
        {
            state ??= new PairState();
            lock (state)
            {
                reading = state.Reading;
                if (quota is not null && (quota.RequestsPerDay > 0 || quota.TokensPerDay > 0))
                {
                    var today = Day(now);
                    var current = state.Day == today;
                    daily = new DailyQuotaStatus(current ? state.Requests : 0, quota.RequestsPerDay, current ? state.Tokens : 0, quota.TokensPerDay,
                        new DateTimeOffset(today.AddDays(1), TimeOnly.MinValue, TimeSpan.Zero), state.CountedAt);
                }
            }
        }

        return new QuotaStatus(reading, daily, QuotaStatus.Fraction(reading, daily, now));
    }

    public double? RemainingFraction(string provider, string model) => StatusOf(provider, model).RemainingFraction;

    private PairState State(ProviderModel pair) => _pairs.GetOrAdd(pair, static _ => new PairState());

    private static DateOnly Day(DateTimeOffset at) => DateOnly.FromDateTime(at.UtcDateTime);

    private sealed class PairComparer : IEqualityComparer<ProviderModel>
    {
        public static readonly PairComparer Instance = new();

        public bool Equals(ProviderModel x, ProviderModel y) =>
            string.Equals(x.Provider, y.Provider, StringComparison.OrdinalIgnoreCase) && string.Equals(x.Model, y.Model, StringComparison.Ordinal);

        public int GetHashCode(ProviderModel pair) =>
            HashCode.Combine(StringComparer.OrdinalIgnoreCase.GetHashCode(pair.Provider), StringComparer.Ordinal.GetHashCode(pair.Model));
    }

    private sealed class PairState
    {
        public QuotaReading? Reading { get; set; }

        public DateOnly Day { get; set; }

        public long Requests { get; set; }

        public long Tokens { get; set; }

        public DateTimeOffset? CountedAt { get; set; }

        /// <summary>A new UTC day starts from zero, whether or not the audit trail has been counted yet.</summary>
        public void RollOver(DateOnly today)
        {
            if (Day == today)
                return;
            Day = today;
            Requests = 0;
            Tokens = 0;
        }
    }
}
