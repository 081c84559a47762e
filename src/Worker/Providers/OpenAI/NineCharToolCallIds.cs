using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace Worker.Providers.OpenAI;

/// <summary>
/// Maps tool call ids to the nine letters or digits Mistral insists on
/// (https://github.com/langchain-ai/langchain/pull/24668). A conversation may carry ids made by OpenAI
/// ("call_..."), Gemini or the worker itself; the mapping is a pure function of the id, so an assistant's
/// <c>tool_calls[].id</c> and the <c>tool_call_id</c> answering it map to the same value in every request, with no
/// state to keep between calls.
/// </summary>
internal static class NineCharToolCallIds
{
    private const int Length = 9;
    private const string Alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

    /// <summary>
    /// <paramref name="id"/> itself when it already fits (Mistral's own ids round-trip unchanged), else nine base-62
    /// digits of its SHA-256: 62^9 (about 10^16) values make a collision within one conversation negligible.
    /// </summary>
    public static string Map(string id)
    {
        if (Fits(id))
        {
            return id;
        }

        var value = BinaryPrimitives.ReadUInt64BigEndian(SHA256.HashData(Encoding.UTF8.GetBytes(id)));
        Span<char> chars = stackalloc char[Length];
        for (var i = 0; i < Length; i++)
        {
            chars[i] = Alphabet[(int)(value % (ulong)Alphabet.Length)];
            value /= (ulong)Alphabet.Length;
        }

        return new string(chars);
    }

    /// <summary>Whether <paramref name="id"/> is already nine ASCII letters or digits.</summary>
    public static bool Fits(string id) => id.Length == Length && id.All(char.IsAsciiLetterOrDigit);
}
