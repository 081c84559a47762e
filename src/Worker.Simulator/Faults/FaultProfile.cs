namespace Worker.Simulator.Faults;

/// <summary>
/// How one target misbehaves. Set over <c>PUT /_sim/targets/{target}/faults</c> (camelCase JSON), from configuration
/// (<c>Simulator:Targets:{target}:Always</c>, env <c>Simulator__Targets__gemini__Always=503</c>) or with
/// <see cref="Calls.SimulatorState.SetProfile"/>. Fault names are the short names of <see cref="FaultNames"/>.
/// Per call: the next <see cref="Script"/> item if any is left; else <see cref="OutageFault"/> inside the outage
/// window; else one roll against <see cref="Rates"/>; else <see cref="Always"/>; else <c>ok</c>.
/// </summary>
public sealed class FaultProfile
{
    // JSON null and missing keys both mean "the default", so the setters never keep a null.
    private List<string> _script = [];
    private Dictionary<string, double> _rates = [];
    private string _outageFault = "503";
    private Dictionary<string, int> _modelLatencyMs = [];

    /// <summary>Delay before every answer, errors included, in milliseconds. A client disconnect cuts it short.</summary>
    public int LatencyMs { get; set; }

    /// <summary>
    /// Latency per model, in milliseconds, in place of <see cref="LatencyMs"/> for calls to that model (exact model name),
    /// e.g. <c>{"gemini-2.5-flash": 400, "gemini-2.5-pro": 1750}</c>: one target serves a fast and a slow model, and a
    /// routing benchmark needs each at its own speed. Models not listed get <see cref="LatencyMs"/>.
    /// </summary>
    public Dictionary<string, int> ModelLatencyMs { get => _modelLatencyMs; set => _modelLatencyMs = value ?? []; }

    /// <summary>
    /// When true, a successful reply is padded to the request's maximum output tokens (Gemini <c>maxOutputTokens</c>,
    /// OpenAI <c>max_completion_tokens</c> or <c>max_tokens</c>) in words, the simulator's stand-in for tokens, so the
    /// reported output tokens, and the cost the worker derives from them, follow the request. Off, or without a maximum:
    /// the short deterministic reply.
    /// </summary>
    public bool ReplyToMaxTokens { get; set; }

    /// <summary>Faults answered in order, one per call; once used up, the other rules apply.</summary>
    public List<string> Script { get => _script; set => _script = value ?? []; }

    /// <summary>Fault for every call not decided by the script, outage or rates; null means <c>ok</c>.</summary>
    public string? Always { get; set; }

    /// <summary>
    /// Per-call probabilities, e.g. <c>{"503": 0.3, "hang": 0.1}</c>. One roll per call lands in at most one band,
    /// so each fault gets exactly its rate; the rates must add up to 1 or less.
    /// </summary>
    public Dictionary<string, double> Rates { get => _rates; set => _rates = value ?? []; }

    /// <summary>Retry delay a <c>429</c> asks for: Gemini RetryInfo.retryDelay, OpenAI retry-after header.</summary>
    public int RetryAfterSeconds { get; set; } = 1;

    /// <summary>
    /// Requests per minute the target allows, 0 for no limit. With a limit (or <see cref="TokensPerMinute"/>) every
    /// OpenAI answer carries the <c>x-ratelimit-*</c> headers, and a call over the limit is answered 429 until the
    /// minute, which starts with the first call, is over.
    /// </summary>
    public int RequestsPerMinute { get; set; }

    /// <summary>Tokens per minute (prompt words plus the request's max tokens, as OpenAI estimates them), 0 for no limit.</summary>
    public int TokensPerMinute { get; set; }

    /// <summary>Length of an outage starting when the profile is set (or at start, from configuration); 0 for none.</summary>
    public int OutageSeconds { get; set; }

    /// <summary>Fault answered during the outage.</summary>
    public string OutageFault { get => _outageFault; set => _outageFault = value ?? "503"; }

    /// <summary>Seed for <see cref="Rates"/>, for a reproducible sequence; null for a random one.</summary>
    public int? Seed { get; set; }

    /// <summary>
    /// Every call waits, after its latency, until this profile is replaced or cleared (or its client leaves). A test can
    /// then build up any number of calls in flight, however fast or slow the machine is, and let them go when it chooses.
    /// </summary>
    public bool Hold { get; set; }

    /// <summary>A profile answering <paramref name="fault"/> to every call.</summary>
    public static FaultProfile AlwaysFail(string fault) => new() { Always = fault };

    /// <summary>A profile answering <paramref name="faults"/> in order, then <c>ok</c>.</summary>
    public static FaultProfile Scripted(params string[] faults) => new() { Script = [.. faults] };

    internal FaultProfile Copy() => new()
    {
        LatencyMs = LatencyMs,
        ModelLatencyMs = new(ModelLatencyMs),
        ReplyToMaxTokens = ReplyToMaxTokens,
        Script = [.. Script],
        Always = Always,
        Rates = new(Rates),
        RetryAfterSeconds = RetryAfterSeconds,
        RequestsPerMinute = RequestsPerMinute,
        TokensPerMinute = TokensPerMinute,
        OutageSeconds = OutageSeconds,
        OutageFault = OutageFault,
        Seed = Seed,
        Hold = Hold,
    };

    /// <summary>Every problem, keyed by the camelCase field (<c>script[1]</c>, <c>rates.hang</c>), each message naming the bad value.</summary>
    internal Dictionary<string, string[]> Validate()
    {
        var errors = new Dictionary<string, string[]>();
        void Fail(string field, string message) => errors[field] = [message];
        void CheckName(string field, string? name)
        {
            if (!FaultNames.TryParse(name, out _))
                Fail(field, FaultNames.UnknownMessage(name));
        }

        if (LatencyMs < 0)
            Fail("latencyMs", $"latencyMs must be 0 or more, not {LatencyMs}.");
        foreach (var (model, latency) in ModelLatencyMs)
        {
            if (latency < 0)
                Fail($"modelLatencyMs.{model}", $"modelLatencyMs of '{model}' must be 0 or more, not {latency}.");
        }
        if (RetryAfterSeconds < 0)
            Fail("retryAfterSeconds", $"retryAfterSeconds must be 0 or more, not {RetryAfterSeconds}.");
        if (RequestsPerMinute < 0)
            Fail("requestsPerMinute", $"requestsPerMinute must be 0 or more, not {RequestsPerMinute}.");
        if (TokensPerMinute < 0)
            Fail("tokensPerMinute", $"tokensPerMinute must be 0 or more, not {TokensPerMinute}.");
        if (OutageSeconds < 0)
            Fail("outageSeconds", $"outageSeconds must be 0 or more, not {OutageSeconds}.");
        for (var i = 0; i < Script.Count; i++)
            CheckName($"script[{i}]", Script[i]);
        if (Always is not null)
            CheckName("always", Always);
        CheckName("outageFault", OutageFault);
        foreach (var (name, rate) in Rates)
        {
            CheckName($"rates.{name}", name);
            if (rate is < 0 or > 1 || double.IsNaN(rate))
                Fail($"rates.{name}", $"Rate of '{name}' must be between 0 and 1, not {rate}.");
        }
        var sum = Rates.Values.Sum();
        if (sum > 1.000001)
            Fail("rates", $"Rates add up to {sum}; they must add up to 1 or less.");
        return errors;
    }
}
