namespace Worker.Simulator.Faults;

/// <summary>A validated <see cref="FaultProfile"/> in force for one target. Not thread-safe: the owner serialises calls.</summary>
internal sealed class ActiveProfile
{
    private readonly Fault[] _script;
    private readonly (Fault Fault, double Rate)[] _rates;
    private readonly Fault? _always;
    private readonly Fault _outageFault;
    private readonly Random _random;
    private int _cursor;

    public ActiveProfile(FaultProfile profile, DateTimeOffset now)
    {
        var errors = profile.Validate();
        if (errors.Count > 0)
            throw new ArgumentException(string.Join(" ", errors.Select(e => $"{e.Key}: {e.Value[0]}")), nameof(profile));

        Source = profile.Copy();
        _script = [.. Source.Script.Select(FaultNames.Parse)];
        // Sorted so a seeded profile rolls the same bands whatever order the JSON listed them in.
        _rates = [.. Source.Rates.Select(r => (Fault: FaultNames.Parse(r.Key), r.Value)).Where(r => r.Value > 0).OrderBy(r => r.Fault)];
        _always = Source.Always is null ? null : FaultNames.Parse(Source.Always);
        _outageFault = FaultNames.Parse(Source.OutageFault);
        _random = Source.Seed is { } seed ? new Random(seed) : new Random();
        OutageEndsAt = Source.OutageSeconds > 0 ? now.AddSeconds(Source.OutageSeconds) : null;
        Limits = Source.RequestsPerMinute > 0 || Source.TokensPerMinute > 0 ? new RateWindow(Source.RequestsPerMinute, Source.TokensPerMinute) : null;
    }

    /// <summary>The per-minute limits, when the profile sets any; a new profile starts a new window.</summary>
    public RateWindow? Limits { get; }

    /// <summary>A private copy of the profile as set.</summary>
    public FaultProfile Source { get; }

    public DateTimeOffset? OutageEndsAt { get; }

    public int ScriptRemaining => _script.Length - _cursor;

    /// <summary>The delay before answering a call to <paramref name="model"/>: its own latency if the profile lists one.</summary>
    public TimeSpan LatencyOf(string model) =>
        TimeSpan.FromMilliseconds(Source.ModelLatencyMs.TryGetValue(model, out var ms) ? ms : Source.LatencyMs);

    public bool ReplyToMaxTokens => Source.ReplyToMaxTokens;

    public int RetryAfterSeconds => Source.RetryAfterSeconds;

    private readonly TaskCompletionSource _released = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>For a holding profile, completes when the profile is replaced or cleared; null when calls are not held.</summary>
    public Task? Released => Source.Hold ? _released.Task : null;

    /// <summary>Lets every call this profile holds go on.</summary>
    public void Release() => _released.TrySetResult();

    public Fault Next(DateTimeOffset now)
    {
        if (_cursor < _script.Length)
            return _script[_cursor++];
        if (now < OutageEndsAt)
            return _outageFault;
        if (_rates.Length > 0)
        {
            var roll = _random.NextDouble();
            foreach (var (fault, rate) in _rates)
            {
                if (roll < rate)
                    return fault;
                roll -= rate;
            }
        }
        return _always ?? Fault.Ok;
    }
}
