using System.Security.Cryptography;
using System.Text;

namespace Worker.DeadLetters;

/// <summary>
/// Dead letters are grouped by cause, as ServicePulse groups failed messages: reason, error class, provider, chain and
/// exception type. The group key is a short hash of that tuple, stored on each row so a group is one index lookup.
/// </summary>
public static class DeadLetterGroups
{
    /// <summary>12 hex characters of SHA-256 over the cause; equal causes give equal keys, in every process.</summary>
    public static string Key(string reason, string? errorClass, string? provider, string? chain, string? exceptionType)
    {
        // The unit separator cannot appear in names, so ("a", "bc") and ("ab", "c") never collide.
        var cause = string.Join('\u001f', reason, errorClass ?? "", provider ?? "", chain ?? "", exceptionType ?? "");
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(cause)))[..12];
    }

    /// <summary>True when <paramref name="value"/> looks like a group key (so a filter can refuse a typo early).</summary>
    public static bool IsKey(string value) => value.Length == 12 && value.All(char.IsAsciiHexDigitLower);
}
