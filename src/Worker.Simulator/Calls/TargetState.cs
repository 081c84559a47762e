using Worker.Simulator.Faults;

namespace Worker.Simulator.Calls;

/// <summary>
/// Profile and counters of one target. One lock guards both, so a script item is consumed and counted atomically;
/// it is held for a few hundred nanoseconds per call, cheap even with thousands of calls in flight.
/// </summary>
internal sealed class TargetState(string name)
{
    public const int RecentCapacity = 2_000;

    private readonly Lock _gate = new();
    private readonly CallRecord[] _recent = new CallRecord[RecentCapacity];
    private readonly Dictionary<Fault, long> _byFault = [];
    private readonly Dictionary<string, long> _byModel = new(StringComparer.Ordinal);
    private readonly Dictionary<string, PromptCounts> _byPrompt = new(StringComparer.Ordinal);
    private int _recentNext;
    private int _recentCount;
    private long _total;
    private long _succeeded;
    private ActiveProfile? _profile;

    public string Name => name;

    public void SetProfile(ActiveProfile? profile)
    {
        lock (_gate)
        {
            _profile?.Release();
            _profile = profile;
        }
    }

    public (FaultProfile? Profile, int ScriptRemaining, DateTimeOffset? OutageEndsAt) Profile()
    {
        lock (_gate)
            return (_profile?.Source.Copy(), _profile?.ScriptRemaining ?? 0, _profile?.OutageEndsAt);
    }

    /// <summary>Decides the fault (unless the request was already rejected) and counts the call.</summary>
    /// <param name="tokens">What the call counts against a per-minute token limit.</param>
    public CallPlan Admit(string format, string model, Fault? rejection, DateTimeOffset now, Func<long> nextSequence, string? prompt = null, int tokens = 0)
    {
        lock (_gate)
        {
            var fault = rejection ?? _profile?.Next(now) ?? Fault.Ok;
            // A call the API accepted counts against the limits; over them, an answer that would have succeeded is a 429.
            var limits = rejection is null ? _profile?.Limits?.Take(now, tokens) : null;
            var retryAfter = _profile?.RetryAfterSeconds ?? 1;
            if (limits is { Exceeded: true } spent && fault == Fault.Ok)
            {
                fault = Fault.TooManyRequests;
                retryAfter = (int)Math.Ceiling(spent.Reset.TotalSeconds);
            }

            _total++;
            if (fault == Fault.Ok)
                _succeeded++;
            _byFault[fault] = _byFault.GetValueOrDefault(fault) + 1;
            _byModel[model] = _byModel.GetValueOrDefault(model) + 1;
            var key = PromptCounts.Key(prompt);
            if (key is not null && (_byPrompt.TryGetValue(key, out var counts) || _byPrompt.Count < PromptCounts.MaxPrompts))
            {
                counts ??= new PromptCounts(0, 0);
                _byPrompt[key] = new PromptCounts(counts.Total + 1, counts.Succeeded + (fault == Fault.Ok ? 1 : 0));
            }

            _recent[_recentNext] = new CallRecord(nextSequence(), name, format, model, fault, now, key);
            _recentNext = (_recentNext + 1) % RecentCapacity;
            _recentCount = Math.Min(_recentCount + 1, RecentCapacity);
            return new CallPlan(fault, _profile?.LatencyOf(model) ?? TimeSpan.Zero, retryAfter, _profile?.Released, limits,
                _profile?.ReplyToMaxTokens ?? false);
        }
    }

    public Dictionary<string, PromptCounts> ByPrompt()
    {
        lock (_gate)
            return new Dictionary<string, PromptCounts>(_byPrompt, StringComparer.Ordinal);
    }

    public CallCounters Counters()
    {
        lock (_gate)
            return new(_total, _succeeded, new Dictionary<Fault, long>(_byFault), new Dictionary<string, long>(_byModel));
    }

    /// <summary>The last <see cref="RecentCapacity"/> calls, oldest first.</summary>
    public CallRecord[] Recent()
    {
        lock (_gate)
        {
            var result = new CallRecord[_recentCount];
            var start = (_recentNext - _recentCount + RecentCapacity) % RecentCapacity;
            for (var i = 0; i < _recentCount; i++)
                result[i] = _recent[(start + i) % RecentCapacity];
            return result;
        }
    }

    public void ClearCounters()
    {
        lock (_gate)
        {
            _total = _succeeded = 0;
            _byFault.Clear();
            _byModel.Clear();
            _byPrompt.Clear();
            Array.Clear(_recent);
            _recentNext = _recentCount = 0;
        }
    }
}
