namespace Worker.Simulator.Faults;

/// <summary>What a rate-limited target tells a call about its limits: OpenAI's <c>x-ratelimit-*</c> headers.</summary>
/// <param name="RequestsLimit">Requests per minute; 0 when only tokens are limited.</param>
/// <param name="TokensLimit">Tokens per minute; 0 when only requests are limited.</param>
/// <param name="Reset">Until the window starts again.</param>
/// <param name="Exceeded">This call went over a limit: it is answered 429.</param>
internal readonly record struct RateLimitState(
    int RequestsLimit, int RequestsRemaining, int TokensLimit, int TokensRemaining, TimeSpan Reset, bool Exceeded);

/// <summary>
/// The per-minute limits of a profile (<see cref="FaultProfile.RequestsPerMinute"/>, <see cref="FaultProfile.TokensPerMinute"/>)
/// over a fixed window that starts with its first call and lasts a minute: simpler than OpenAI's rolling refill, and
/// exact enough to test a client that reads the headers. Not thread-safe: the target's lock serialises calls.
/// </summary>
internal sealed class RateWindow(int requestsPerMinute, int tokensPerMinute)
{
    private static readonly TimeSpan Length = TimeSpan.FromMinutes(1);

    private DateTimeOffset _start = DateTimeOffset.MinValue;
    private int _requests;
    private int _tokens;

    /// <summary>Counts a call of <paramref name="tokens"/> tokens (prompt plus max output, as OpenAI estimates them) and says what is left.</summary>
    public RateLimitState Take(DateTimeOffset now, int tokens)
    {
        if (now >= _start + Length)
        {
            _start = now;
            _requests = 0;
            _tokens = 0;
        }

        var exceeded = (requestsPerMinute > 0 && _requests >= requestsPerMinute)
            || (tokensPerMinute > 0 && _tokens + tokens > tokensPerMinute);
        if (!exceeded)
        {
            _requests++;
            _tokens += tokens;
        }

        return new RateLimitState(
            requestsPerMinute, Math.Max(0, requestsPerMinute - _requests),
            tokensPerMinute, Math.Max(0, tokensPerMinute - _tokens),
            _start + Length - now, exceeded);
    }
}
