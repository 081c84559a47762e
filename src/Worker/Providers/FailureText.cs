using System.Text.RegularExpressions;

namespace Worker.Providers;

/// <summary>
/// Makes provider-supplied text safe for <see cref="ProviderFailure.Detail"/>, which ends up in logs, audit rows and
/// the CompletionFailed sent back to producers.
/// </summary>
internal static partial class FailureText
{
    private const int MaxLength = 400;
    private const string Redacted = "[redacted]";

    /// <summary>Removes the key (and anything shaped like a provider key) and bounds the length.</summary>
    public static string Safe(string? text, string apiKey)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return "";
        }

        var safe = text;
        if (apiKey.Length > 0)
        {
            safe = safe.Replace(apiKey, Redacted, StringComparison.Ordinal);
            var escaped = Uri.EscapeDataString(apiKey);
            if (escaped != apiKey)
            {
                safe = safe.Replace(escaped, Redacted, StringComparison.Ordinal);
            }
        }

        // OpenAI's 401 echoes a masked key ("sk-proj-****abcd") and servers that echo requests may show other keys:
        // no fragment of a credential belongs in a message that travels back to producers.
        safe = KeyShaped().Replace(safe, Redacted);
        safe = safe.ReplaceLineEndings(" ").Trim();
        return safe.Length <= MaxLength ? safe : string.Concat(safe.AsSpan(0, MaxLength), "...");
    }

    /// <summary>The class of an HTTP status; provider-specific refinements (Gemini reasons, OpenAI codes) come first.</summary>
    public static ErrorClass ClassifyStatus(int status) => status switch
    {
        429 => ErrorClass.RateLimited,
        401 or 403 => ErrorClass.Auth,
        // 408 says the server gave up waiting for us: transient, like our own timeout, not a bad request.
        408 => ErrorClass.Timeout,
        >= 500 => ErrorClass.Server,
        // 4xx, and 3xx too: redirects are not followed (a POST must not silently turn into a GET), so a 3xx
        // means the BaseUrl is wrong, which no retry fixes.
        _ => ErrorClass.InvalidRequest,
    };

    /// <summary>Failures of the connection itself: refused, reset, DNS, TLS, body cut short.</summary>
    public static bool IsNetwork(Exception exception) =>
        exception is HttpRequestException or IOException or System.Net.Sockets.SocketException
        || exception is System.ClientModel.ClientResultException { Status: 0 };

    /// <summary>The innermost message, which names the actual socket error rather than a wrapper's summary.</summary>
    public static string Describe(Exception exception)
    {
        var inner = exception;
        while (inner.InnerException is { } next && inner is not System.Net.Sockets.SocketException)
        {
            inner = next;
        }

        return inner == exception || exception.Message.Contains(inner.Message, StringComparison.Ordinal)
            ? $"{exception.GetType().Name}: {exception.Message}"
            : $"{exception.GetType().Name}: {exception.Message} ({inner.GetType().Name}: {inner.Message})";
    }

    [GeneratedRegex(@"\b(?:sk-[A-Za-z0-9_\-\*\.]{4,}|AIza[0-9A-Za-z_\-]{8,})", RegexOptions.CultureInvariant)]
    private static partial Regex KeyShaped();
}
