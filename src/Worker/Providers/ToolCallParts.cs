using System.Security.Cryptography;
using System.Text.Json;

namespace Worker.Providers;

/// <summary>What every provider needs to build a <see cref="Contracts.ToolCall"/> from an answer that left parts out.</summary>
public static class ToolCallParts
{
    /// <summary>The arguments of a call that sent none: an empty object, as every tool's parameters schema is one.</summary>
    public static readonly JsonElement EmptyArguments = JsonElement.Parse("{}");

    /// <summary>An id in OpenAI's shape (<c>call_</c> and 24 hex digits), for a provider that sends none: a tool message must name the call it answers.</summary>
    public static string NewId() => "call_" + RandomNumberGenerator.GetHexString(24, lowercase: true);
}
