// Package printout renders the printable pages of the register: the A4 register of
// media (台账) with the unit's name, the classification marking, page x of y, the
// date and signature lines, and A4 sheets of stickers for media (密级标识) in common
// label-sheet layouts, each with the medium's number, level, custodian and a QR code
// of the number. It gets words already translated: it knows no catalogue and no
// rules of the register.
package printout
