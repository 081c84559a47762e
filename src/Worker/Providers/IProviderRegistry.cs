using System.Diagnostics.CodeAnalysis;

namespace Worker.Providers;

/// <summary>The configured providers by name. The chain depends on this, so tests can hand it fakes.</summary>
public interface IProviderRegistry
{
    bool TryGet(string name, [NotNullWhen(true)] out ICompletionProvider? provider);
}
