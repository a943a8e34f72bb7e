package org.chatloop.core;

/** A parsed line of client input: a closed set, made by {@link CommandParser}. */
sealed interface Command {
    /** A line that is not a command: text for the room. */
    record Say(String text) implements Command { }

    /** {@code /quit}. */
    record Quit() implements Command { }

    /** {@code /nick NAME}, already valid. */
    record Nick(String name) implements Command { }

    /** {@code /join ROOM}, already valid. */
    record Join(String room) implements Command { }

    /** {@code /rooms}. */
    record Rooms() implements Command { }

    /** {@code /who}. */
    record Who() implements Command { }

    /** {@code /msg NAME TEXT}, with non-blank text. */
    record Msg(String target, String text) implements Command { }

    /** {@code /help}. */
    record Help() implements Command { }

    /** A line that names an unknown command or has bad arguments; {@code error} says which. */
    record Invalid(String error) implements Command { }
}
