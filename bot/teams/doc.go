// Package teams is Nightshift's Microsoft Teams surface over the Bot
// Framework: a pure Adaptive Card renderer for the platform-neutral
// bot.Message (Card, Attachment, Text) and helpers for incoming activities
// (StripMentions). Button presses come back as Action.Submit message
// activities whose Value is {"action": button ID, "value": button value}.
//
// It must not import integrations, store, server or cmd, nor any other chat
// transport: it talks to the rest of Nightshift only through bot and engine.
// Rendering does no I/O.
package teams
